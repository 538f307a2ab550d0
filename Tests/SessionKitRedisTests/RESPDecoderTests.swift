#if Redis
import NIOCore
import Testing

@testable import SessionKitRedis

/// One well-formed reply and the value it decodes to.
struct ReplyExample: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let value: RESPValue

    init(_ name: String, _ text: String, _ value: RESPValue) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.value = value
    }

    init(_ name: String, bytes: [UInt8], _ value: RESPValue) {
        self.name = name
        self.bytes = bytes
        self.value = value
    }

    var testDescription: String { name }

    static let all: [ReplyExample] = [
        ReplyExample("simple string", "+OK\r\n", .simpleString("OK")),
        ReplyExample("empty simple string", "+\r\n", .simpleString("")),
        ReplyExample("error", "-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        ReplyExample("integer", ":1000\r\n", .integer(1000)),
        ReplyExample("negative integer", ":-42\r\n", .integer(-42)),
        ReplyExample("largest integer", ":9223372036854775807\r\n", .integer(.max)),
        ReplyExample("smallest integer", ":-9223372036854775808\r\n", .integer(.min)),
        ReplyExample("bulk string", "$5\r\nhello\r\n", .bulkString(ByteBuffer(string: "hello"))),
        ReplyExample("empty bulk string", "$0\r\n\r\n", .bulkString(ByteBuffer())),
        ReplyExample("bulk string holding CRLF", "$4\r\n\r\n\r\n\r\n", .bulkString(ByteBuffer(string: "\r\n\r\n"))),
        ReplyExample(
            "bulk string of every byte value",
            bytes: Array("$256\r\n".utf8) + (0...255).map { UInt8($0) } + Array("\r\n".utf8),
            .bulkString(ByteBuffer(bytes: (0...255).map { UInt8($0) }))
        ),
        ReplyExample("null bulk string", "$-1\r\n", .null),
        ReplyExample("null array", "*-1\r\n", .null),
        ReplyExample("empty array", "*0\r\n", .array([])),
        ReplyExample(
            "HMGET reply",
            "*3\r\n$2\r\n\u{1}\u{2}\r\n$1\r\n7\r\n$-1\r\n",
            .array([.bulkString(ByteBuffer(bytes: [1, 2])), .bulkString(ByteBuffer(string: "7")), .null])
        ),
        ReplyExample(
            "nested mixed array",
            "*3\r\n:1\r\n*2\r\n+a\r\n-b\r\n*0\r\n",
            .array([.integer(1), .array([.simpleString("a"), .error("b")]), .array([])])
        ),
        ReplyExample("UTF-8 simple string", "+Zoë 山田 😀\r\n", .simpleString("Zoë 山田 😀")),
    ]
}

/// One malformed reply and a phrase the decoder's error must contain.
struct MalformedExample: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let phrase: String

    init(_ name: String, _ text: String, _ phrase: String) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.phrase = phrase
    }

    var testDescription: String { name }

    static let all: [MalformedExample] = [
        MalformedExample("unknown type byte", "!oops\r\n", "unknown type byte"),
        MalformedExample("RESP3 map", "%1\r\n+a\r\n+b\r\n", "unknown type byte"),
        MalformedExample("non-numeric bulk length", "$abc\r\nxyz\r\n", "bulk string length is not a decimal number"),
        MalformedExample("empty bulk length", "$\r\n", "bulk string length is not a decimal number"),
        MalformedExample("plus sign in a length", "$+3\r\nfoo\r\n", "not a decimal number"),
        MalformedExample("negative bulk length", "$-2\r\n", "bulk string length -2 is negative"),
        MalformedExample("negative array length", "*-5\r\n", "array length -5 is negative"),
        MalformedExample("non-numeric integer", ":12a\r\n", "integer is not a decimal number"),
        MalformedExample("integer out of range", ":9223372036854775808\r\n", "out of range"),
        MalformedExample("integer with too many digits", ":12345678901234567890\r\n", "not a decimal number"),
        MalformedExample("bulk body without CRLF", "$3\r\nfooXY", "not followed by CRLF"),
        MalformedExample("bulk body too long", "$3\r\nfoobar\r\n", "not followed by CRLF"),
        MalformedExample("CR without LF", "+OK\rX\n", "CR inside a line"),
        MalformedExample("LF without CR", "+OK\n", "LF without CR"),
        MalformedExample("element with a bad type", "*2\r\n:1\r\n?\r\n", "unknown type byte"),
        MalformedExample("bulk length over the cap", "$67108865\r\n", "exceeds the limit"),
        MalformedExample("array length over the cap", "*1048577\r\n", "exceeds the limit"),
        MalformedExample(
            "nesting beyond the cap",
            String(repeating: "*1\r\n", count: 33) + ":1\r\n",
            "nest deeper than the limit of 32"
        ),
        MalformedExample(
            "nesting beyond the cap before the data arrives",
            String(repeating: "*1\r\n", count: 33),
            "nest deeper than the limit of 32"
        ),
    ]
}

@Suite struct RESPDecoderTests {
    /// Feeds `chunks` through the decoder as a channel would and returns every value it produced.
    private func decode(_ chunks: [[UInt8]]) throws -> [RESPValue] {
        let processor = NIOSingleStepByteToMessageProcessor(RESPValueDecoder())
        var values: [RESPValue] = []
        for chunk in chunks {
            try processor.process(buffer: ByteBuffer(bytes: chunk)) { values.append($0) }
        }
        return values
    }

    @Test(arguments: ReplyExample.all)
    func everyReplyKindDecodes(_ example: ReplyExample) throws {
        var buffer = ByteBuffer(bytes: example.bytes)
        let value = try RESPValue(consuming: &buffer)
        #expect(value == example.value)
        #expect(buffer.readableBytes == 0, "the decoder left bytes of a complete reply unread")
    }

    @Test(arguments: ReplyExample.all)
    func everySplitPointYieldsTheSameValue(_ example: ReplyExample) throws {
        for split in 0...example.bytes.count {
            let values = try decode([Array(example.bytes[..<split]), Array(example.bytes[split...])])
            #expect(values == [example.value], "split at byte \(split)")
        }
    }

    @Test(arguments: ReplyExample.all)
    func byteByByteFeedingYieldsTheSameValue(_ example: ReplyExample) throws {
        #expect(try decode(example.bytes.map { [$0] }) == [example.value])
    }

    @Test func partialReplyConsumesNothing() throws {
        let complete = Array("*2\r\n$3\r\nfoo\r\n:7\r\n".utf8)
        for length in 0..<complete.count {
            var buffer = ByteBuffer(bytes: complete[..<length])
            #expect(try RESPValue(consuming: &buffer) == nil, "\(length) of \(complete.count) bytes decoded")
            #expect(buffer.readableBytes == length, "a partial reply of \(length) bytes was consumed")
        }
    }

    @Test func pipelinedRepliesDecodeInOrder() throws {
        let stream = ReplyExample.all.flatMap(\.bytes)
        let expected = ReplyExample.all.map(\.value)
        #expect(try decode([stream]) == expected)
        #expect(try decode(stream.map { [$0] }) == expected)
        for split in stride(from: 0, through: stream.count, by: 7) {
            #expect(try decode([Array(stream[..<split]), Array(stream[split...])]) == expected, "split at byte \(split)")
        }
    }

    /// Security review, item 8: the decoder parsed a reply again from its first byte on
    /// every partial read, so a large reply arriving in small reads cost quadratic time.
    /// Each byte is now looked at a bounded number of times, whatever the read size.
    @Test(arguments: [1, 7, 64, 4096])
    func aLargeReplyInSmallReadsIsScannedInLinearWork(readSize: Int) throws {
        var bytes = Array("*5000\r\n".utf8)
        for index in 0..<5000 {
            bytes += Array("$8\r\nmember\(index % 10)\(index % 7)\r\n".utf8)
        }
        var decoder = RESPValueDecoder()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for start in stride(from: 0, to: bytes.count, by: readSize) {
            buffer.writeBytes(bytes[start..<min(start + readSize, bytes.count)])
            while let value = try decoder.decode(buffer: &buffer) { values.append(value) }
        }
        #expect(values.count == 1)
        guard case .array(let elements) = values.first else { Issue.record("not an array"); return }
        #expect(elements.count == 5000)
        // Header lines may be looked at again while incomplete (at most one read's worth each).
        #expect(decoder.scanner.bytesExamined <= 2 * bytes.count + 16 * (bytes.count / readSize + 1))
    }

    @Test func theFrameScannerRefusesAHostileLengthBeforeItsBytesArrive() {
        var decoder = RESPValueDecoder()
        var buffer = ByteBuffer(string: "*2\r\n$99999999999\r\n")
        #expect(throws: RESPError.self) { try decoder.decode(buffer: &buffer) }
        var deep = RESPValueDecoder()
        var nested = ByteBuffer(string: String(repeating: "*1\r\n", count: 33))
        #expect(throws: RESPError.self) { try deep.decode(buffer: &nested) }
    }

    @Test(arguments: MalformedExample.all)
    func malformedReplyThrowsAClearError(_ example: MalformedExample) {
        var buffer = ByteBuffer(bytes: example.bytes)
        let error = #expect(throws: RESPError.self) { try RESPValue(consuming: &buffer) }
        #expect(error?.description.contains(example.phrase) == true, "got: \(String(describing: error))")
        #expect(throws: RESPError.self, "fed byte by byte") { try decode(example.bytes.map { [$0] }) }
    }

    @Test func nestingUpToTheCapDecodes() throws {
        let text = String(repeating: "*1\r\n", count: 32) + ":1\r\n"
        var expected = RESPValue.integer(1)
        for _ in 0..<32 { expected = .array([expected]) }
        var buffer = ByteBuffer(string: text)
        #expect(try RESPValue(consuming: &buffer) == expected)
    }

    @Test func lineLongerThanTheCapThrows() {
        var limits = RESPValue.DecodingLimits.standard
        limits.maximumLineLength = 16
        var buffer = ByteBuffer(string: "+" + String(repeating: "a", count: 40))
        #expect(throws: RESPError.self) { try RESPValue(consuming: &buffer, limits: limits) }
    }

    /// Found by the RESPReply fuzz target: a line exactly one byte over the cap
    /// used to need more bytes forever (its LF fell outside the window the decoder
    /// searches), so a connection waited for a reply that was already complete.
    @Test(arguments: ["+\(String(repeating: "x", count: 17))\r\n", "+\(String(repeating: "x", count: 17))\r*"])
    func lineOneByteOverTheCapThrows(_ text: String) {
        var limits = RESPValue.DecodingLimits.standard
        limits.maximumLineLength = 16
        var buffer = ByteBuffer(string: text)
        #expect(throws: RESPError("a line is longer than the limit of 16 bytes")) { try RESPValue(consuming: &buffer, limits: limits) }
        var atTheCap = ByteBuffer(string: "+\(String(repeating: "x", count: 16))\r\n")
        #expect(throws: Never.self) { try RESPValue(consuming: &atTheCap, limits: limits) }
    }

    /// Found by the RESPReply fuzz target (as an allocation of 18 MiB for a 94-byte
    /// input): the decoder reserved room for as many elements as an array header
    /// claimed before any had arrived. It now reserves only what the received bytes
    /// could hold; a claimed count still decodes once its elements arrive.
    @Test func arrayClaimingMoreElementsThanReceivedWaitsThenDecodes() throws {
        var header = ByteBuffer(string: "*1048576\r\n")
        #expect(try RESPValue(consuming: &header) == nil)
        #expect(header.readerIndex == 0)
        let count = 2_000
        var complete = ByteBuffer(string: "*\(count)\r\n" + String(repeating: ":7\r\n", count: count))
        #expect(try RESPValue(consuming: &complete) == .array(Array(repeating: .integer(7), count: count)))
        #expect(complete.readableBytes == 0)
    }

    @Test func configuredBulkCapIsEnforced() throws {
        var limits = RESPValue.DecodingLimits.standard
        limits.maximumReplyBytes = 4
        var fits = ByteBuffer(string: "$4\r\nabcd\r\n")
        #expect(try RESPValue(consuming: &fits, limits: limits) == .bulkString(ByteBuffer(string: "abcd")))
        var tooLong = ByteBuffer(string: "$5\r\n")
        #expect(throws: RESPError.self) { try RESPValue(consuming: &tooLong, limits: limits) }
        // The cap is on the whole reply: two bulk strings that fit alone may not fit together.
        var tooLongTogether = ByteBuffer(string: "*2\r\n$3\r\nabc\r\n$3\r\n")
        #expect(throws: RESPError.self) { try RESPValue(consuming: &tooLongTogether, limits: limits) }
    }

    @Test func randomBytesNeverCrashTheDecoder() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("+-:$*\r\n0123456789-abc".utf8)
        for _ in 0..<5_000 {
            let length = Int.random(in: 0..<40, using: &generator)
            var buffer = ByteBuffer(bytes: (0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            // Any outcome but a crash is fine: a value, "need more bytes", or a thrown error.
            _ = try? RESPValue(consuming: &buffer)
        }
    }

    @Test func commandsEncodeAsArraysOfBulkStrings() {
        #expect(String(buffer: RESPCommand("GET", "foo").encoded) == "*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n")
        #expect(String(buffer: RESPCommand("PING").encoded) == "*1\r\n$4\r\nPING\r\n")
        #expect(
            Array(RESPCommand("SET", "k", .bytes([0, 13, 10, 255])).encoded.readableBytesView)
                == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n".utf8) + [0, 13, 10, 255] + Array("\r\n".utf8)
        )
        #expect(String(buffer: RESPCommand("SET", "ë", "").encoded) == "*3\r\n$3\r\nSET\r\n$2\r\në\r\n$0\r\n\r\n")
    }
}
#endif  // Redis
