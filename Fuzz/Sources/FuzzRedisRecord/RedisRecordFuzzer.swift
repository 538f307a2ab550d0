import Foundation
import FuzzSupport
import Logging
import NIOCore

// The reply decoder and `RedisStore.storedSession(_:from:now:)` are internal:
// reached with `@testable import` (scripts/fuzz builds with `-enable-testing`).
@testable import SessionKit
@testable import SessionKitRedis

// Fuzzes how the Redis store reads a record: the input is a reply to the load
// command (`HMGET <key> d v e o`), decoded with the store's own limits, then
// turned into a record by `storedSession` and its data into a payload as the
// engine does. The store is never connected: reading a reply needs no server.
//
// Invariants: a record comes only from a four-element array whose `v` and `e`
// fields are decimal numbers with `e` after now, and carries exactly the `d`
// bytes, version, expiry and `o` owner of the reply; an error reply is absent
// (WRONGTYPE) or a thrown store error; any other shape is a thrown store error,
// never a record; a payload read from the data re-encodes to itself.

private let store: RedisStore = {
    do {
        // Unreadable records are logged at warning; a million of those lines would only slow the run.
        return try RedisStore(configuration: .init(), logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
    } catch {
        fatalError("store: \(error)")
    }
}()

private let key = SessionKey(hex: String(repeating: "ab", count: 32))!
private let now: Int64 = 1_700_000_000_000
private let limits: RESPValue.DecodingLimits = {
    // The limits the store gives its connections (see RedisStore.init).
    var limits = RESPValue.DecodingLimits.standard
    limits.maximumReplyBytes = 2 * RedisStore.maximumDataSize
    return limits
}()

/// libFuzzer's callback: checks one input, and traps when an invariant breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRedisRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var buffer = ByteBuffer(bytes: inputBytes(data, size))
    guard let reply = try? RESPValue(consuming: &buffer, limits: limits) else { return 0 }

    let stored: StoredSession?
    do {
        stored = try store.storedSession(key, from: reply, now: now)
    } catch {
        switch reply {
        case .error(let message):
            require(!message.hasPrefix("WRONGTYPE"), "WRONGTYPE threw instead of being no record")
        case .array(let fields):
            require(fields.count != 4, "a four-field reply threw \(error)")
        default:
            break
        }
        return 0
    }
    guard case .array(let fields) = reply, fields.count == 4 else {
        guard case .error(let message) = reply, message.hasPrefix("WRONGTYPE") else {
            require(false, "a reply of the wrong shape did not throw: \(reply)")
            return 0
        }
        require(stored == nil, "a WRONGTYPE error gave a record")
        return 0
    }
    let version = fields[1].string.flatMap { UInt64($0) }
    let expiry = fields[2].string.flatMap { Int64($0) }
    guard let stored else {
        require(fields[0].bytes == nil || version == nil || expiry == nil || expiry! <= now, "a readable live record was dropped")
        return 0
    }
    require(stored.record.key == key, "the record has another key")
    require(stored.record.data == fields[0].bytes, "the record's data is not the `d` field")
    require(stored.version == SessionVersion(version ?? 0) && version != nil, "the record's version is not the `v` field")
    require(expiry != nil && expiry! > now, "an expired record was returned")
    require(stored.record.expiresAt == Date(timeIntervalSince1970: Double(expiry!) / 1000), "the expiry moved")
    require(stored.record.owner == fields[3].string, "the owner is not the `o` field")

    // The engine reads the data as a payload; what it reads must write back the same.
    if let payload = SessionPayload(decoding: stored.record.data) {
        require(SessionPayload(decoding: payload.encoded()) == payload, "a stored payload does not round-trip")
    }
    return 0
}

/// The program\'s entry point, which SwiftPM links as `main` (see ``runFuzzer(_:_:_:)``).
@_cdecl("FuzzRedisRecord_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzRedisRecord)
}
