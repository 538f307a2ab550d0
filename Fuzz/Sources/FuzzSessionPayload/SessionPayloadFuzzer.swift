import FuzzSupport

// `JSONCodec` and `SessionPayload` are internal: reached with `@testable import`
// (scripts/fuzz builds with `-enable-testing`).
@testable import SessionKit

// Fuzzes the record bytes every server store keeps (memory, file, SQLite,
// PostgreSQL and Redis all hold the payload's encoding as given):
// `JSONCodec.decode` on the input, then `SessionPayload(decoding:)`.
//
// Invariants: whatever JSON decodes re-encodes to bytes that decode to the same
// value and re-encode to the same bytes (the writer is canonical); a payload
// decodes only from JSON, has a finite creation time, is one the writer agrees
// to write (`readableEncoding()`), and re-encodes to bytes that decode to the
// same payload.

/// libFuzzer's callback: checks one input, and traps when an invariant breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSessionPayload(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(inputBytes(data, size))
    // A record wraps its values in two levels, so it is read two levels deeper than a value.
    let depth = SessionPayload.maximumRecordDepth
    let value = try? JSONCodec.decode(bytes, maximumDepth: depth)
    if let value {
        let encoded = JSONCodec.encode(value)
        do {
            let again = try JSONCodec.decode(encoded, maximumDepth: depth)
            require(again == value, "a JSON value changes on a round trip")
            require(JSONCodec.encode(again) == encoded, "the JSON writer is not canonical")
        } catch {
            require(false, "the writer's output does not decode: \(error)")
        }
    }
    if let shallow = try? JSONCodec.decode(bytes) {
        require(shallow == value, "the default depth reads a value the record depth does not")
    }
    if let payload = SessionPayload(decoding: bytes) {
        require(value != nil, "a payload decoded from bytes that are not JSON")
        require(payload.createdAt.isFinite, "a payload's creation time is not finite")
        let encoded = payload.encoded()
        require(payload.readableEncoding()?.bytes == encoded, "a payload the reader accepted is refused by the writer")
        // The engine's decoded-record cache keeps a written payload only when this holds.
        require(payload.readableEncoding()?.readsBackIdentical == true, "a decoded payload is said not to read back identical")
        let again = SessionPayload(decoding: encoded)
        require(again == payload, "a payload changes on a round trip")
        require(again?.encoded() == encoded, "a payload's encoding is not canonical")
    }
    return 0
}

/// The program\'s entry point, which SwiftPM links as `main` (see ``runFuzzer(_:_:_:)``).
@_cdecl("FuzzSessionPayload_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSessionPayload)
}
