import Foundation
import Testing

@testable import SessionKit

/// The bytes every server-side store keeps for a session: written member by
/// member (no intermediate object), and read from any JSON object of that shape.
@Suite struct SessionRecordFormatTests {
    private static func text(_ bytes: [UInt8]?) -> String? {
        bytes.map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func aPayloadIsWrittenInTheRecordFormatByteForByte() {
        var payload = SessionPayload(createdAt: 1_700_000_000.5)
        payload.values = ["user": "alice", "count": 41, "ratio": 0.5, "tags": ["a", nil]]
        payload.flashNew = ["notice"]
        payload.flashOld = ["old", "error \"x\""]
        payload.owner = "user-7"
        payload.ownerEpoch = -3
        payload.userAgent = "Mozilla/5.0\n"
        payload.ipAddress = "127.0.0.1"

        #expect(
            Self.text(payload.encoded())
                == #"{"c":1700000000.5,"d":{"count":41,"ratio":0.5,"tags":["a",null],"user":"alice"},"fn":["notice"],"#
                + #""fo":["old","error \"x\""],"ip":"127.0.0.1","o":"user-7","oe":-3,"ua":"Mozilla/5.0\n","v":1}"#
        )
        #expect(Self.text(SessionPayload(createdAt: 1_700_000_000).encoded()) == #"{"c":1700000000.0,"d":{},"v":1}"#)
    }

    @Test func theWrittenRecordIsWhatTheGenericWriterWritesForTheSameObject() throws {
        var payload = SessionPayload(createdAt: 12.25)
        payload.values = ["b": 1, "a": ["x": [1, 2]]]
        payload.flashNew = ["b"]
        payload.owner = "o"
        let bytes = payload.encoded()
        // The generic writer sorts members, so equal bytes mean the record is in canonical order.
        #expect(JSONCodec.encode(try JSONCodec.decode(bytes)) == bytes)
    }

    @Test func aRecordIsReadWhateverTheOrderSpacingAndUnknownMembers() throws {
        let text = #" { "v" : 1 , "extra": {"n": [1]}, "o": "first", "d": {"k": "v"}, "c": 5, "fn": [], "o": "last" } "#
        let payload = try #require(SessionPayload(decoding: Array(text.utf8)))

        #expect(payload.values == ["k": "v"])
        #expect(payload.createdAt == 5)
        #expect(payload.owner == "last", "a repeated member counts the last time, as a JSON object would")
        #expect(payload.flashNew.isEmpty && payload.flashOld.isEmpty)
    }

    @Test(arguments: [
        #"{"c":1.0,"d":{}}"#,  // no version
        #"{"c":1.0,"d":{},"v":2}"#,  // a later version
        #"{"c":1.0,"d":{},"v":"1"}"#,  // the version as text
        #"{"d":{},"v":1}"#,  // no creation time
        #"{"c":"1","d":{},"v":1}"#,  // creation time as text
        #"{"c":1.0,"d":[],"v":1}"#,  // values not an object
        #"{"c":1.0,"d":{},"fn":"a","v":1}"#,  // flash marks not an array
        #"{"c":1.0,"d":{},"fo":[1],"v":1}"#,  // flash marks not strings
        #"[{"c":1.0,"d":{},"v":1}]"#,  // not an object
        #"{"c":1.0,"d":{},"v":1} x"#,  // bytes after the object
        #"{"c":1.0,"d":{},"v":1"#,  // truncated
        "",
    ])
    func anythingThisVersionDidNotWriteIsNoPayload(_ text: String) {
        #expect(SessionPayload(decoding: Array(text.utf8)) == nil)
    }
}
