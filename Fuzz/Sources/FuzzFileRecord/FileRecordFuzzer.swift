import Crypto
import FuzzSupport

// `FileStoreFormat` and `SessionPayload` are internal: reached with
// `@testable import` (scripts/fuzz builds with `-enable-testing`).
@testable import SessionKit

// Fuzzes the file store's on-disk formats: `FileStoreFormat.decode` on the
// input as a session file (format 2, and format 1 still read), and
// `FileStoreFormat.decodeIndex` on it as an owner index file. Random bytes
// rarely carry the right checksum, so each input is also decoded a second time
// with its data length and checksum repaired, which lets the fuzzer reach the
// owner and data behind them.
//
// Invariants: a file decodes only with the right magic, a known format, its
// declared data length and its checksum; a decoded format 2 file re-encodes to
// exactly its bytes (format 1 to a format 2 file of the same record); a
// repaired file decodes unless its magic, format or owner text is wrong; the
// record's data is read as a payload the way the engine does; an index decodes
// only as whole lines of keys, without repeats, and re-encodes to a file that
// decodes to the same keys.

private func integer(_ bytes: [UInt8], at offset: Int, size: Int) -> UInt64 {
    (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << UInt64(8 * $1) }
}

/// Where the checksum sits, if the bytes are long enough to have one.
private func checksumOffset(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 32 else { return nil }
    switch integer(bytes, at: 4, size: 4) {
    case 1:
        return bytes.count >= 40 ? 32 : nil
    case 2:
        guard bytes.count >= 36 else { return nil }
        let ownerLength = integer(bytes, at: 32, size: 4)
        let offset = ownerLength == 0xFFFF_FFFF ? 36 : 36 + Int(ownerLength)
        return bytes.count >= offset + 8 ? offset : nil
    default:
        return nil
    }
}

/// The bytes with the data length and checksum they should have.
private func repaired(_ bytes: [UInt8], checksumAt offset: Int) -> [UInt8] {
    var bytes = bytes
    let dataLength = UInt64(bytes.count - offset - 8)
    for index in 0..<8 { bytes[24 + index] = UInt8(truncatingIfNeeded: dataLength >> UInt64(8 * index)) }
    var hasher = SHA256()
    hasher.update(data: bytes[0..<offset])
    hasher.update(data: bytes[(offset + 8)...])
    bytes.replaceSubrange(offset..<(offset + 8), with: Array(hasher.finalize()).prefix(8))
    return bytes
}

private func check(_ bytes: [UInt8]) -> FileStoreFormat.Record? {
    guard case .success(let record) = FileStoreFormat.decode(bytes) else { return nil }
    require(Array(bytes.prefix(4)) == FileStoreFormat.magic, "a file without the magic decoded")
    let format = integer(bytes, at: 4, size: 4)
    let encoded = FileStoreFormat.encode(data: record.data, version: record.version, expiresAt: record.expiresAt, owner: record.owner)
    if format == 2 {
        require(encoded == bytes, "a format 2 file does not re-encode to its bytes")
    } else {
        require(format == 1 && record.owner == nil, "format \(format) decoded")
        guard case .success(let again) = FileStoreFormat.decode(encoded) else {
            require(false, "a format 1 record rewritten as format 2 does not decode")
            return nil
        }
        require(
            again.data == record.data && again.version == record.version && again.expiresAt == record.expiresAt && again.owner == nil,
            "a format 1 record changes when rewritten as format 2"
        )
    }
    // The engine reads the data as a payload; what it reads must write back the same.
    if let payload = SessionPayload(decoding: record.data) {
        require(SessionPayload(decoding: payload.encoded()) == payload, "a stored payload does not round-trip")
    }
    return record
}

/// libFuzzer's callback: checks one input, and traps when an invariant breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFileRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(inputBytes(data, size))
    _ = check(bytes)

    if let offset = checksumOffset(bytes) {
        let fixed = repaired(bytes, checksumAt: offset)
        let record = check(fixed)
        if Array(fixed.prefix(4)) == FileStoreFormat.magic {
            let ownerIsText =
                integer(fixed, at: 4, size: 4) == 1 || offset == 36
                || String(validating: fixed[36..<offset], as: UTF8.self) != nil
            require((record != nil) == ownerIsText, "a repaired file \(record == nil ? "failed" : "decoded") unexpectedly")
        }
    }

    if let keys = FileStoreFormat.decodeIndex(bytes) {
        require(bytes.count % 65 == 0 && keys.count <= bytes.count / 65, "an index decoded from a partial line")
        require(Set(keys).count == keys.count, "an index decoded with repeats")
        require(FileStoreFormat.decodeIndex(FileStoreFormat.encodeIndex(keys)) == keys, "an index does not round-trip")
    }
    return 0
}

/// The program\'s entry point, which SwiftPM links as `main` (see ``runFuzzer(_:_:_:)``).
@_cdecl("FuzzFileRecord_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzFileRecord)
}
