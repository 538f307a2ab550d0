import Foundation
import FuzzSupport

// `CookieStore.seal`/`open` and `SessionPayload` are internal: reached with
// `@testable import` (scripts/fuzz builds with `-enable-testing`).
@testable import SessionKit

// Fuzzes the encrypted cookie opener, `CookieStore.open(_:cookieName:)`, with a
// fixed two-key ring. An input is a cookie value; one that starts with a zero
// byte is instead a plaintext to seal and open again. Fuzz/Corpus/SealedCookie
// holds cookies sealed with this ring; regenerate them with
// `SESSIONKIT_FUZZ_WRITE_SEEDS=<dir> <binary>` after changing the format.
//
// Invariants: a value opens only if this ring sealed it, so every plaintext that
// opens is one of the seeds' plaintexts (nothing else was ever sealed with these
// keys); an opened value is in canonical form (one text per sealed box); its
// payload reads as the engine reads it; and a plaintext sealed here opens to
// itself, but not under another cookie name, not with a foreign key of the same
// id, and not after any one character of the value changes.

private let cookieName = "__Host-sessionkit"

private func key(_ id: String, _ seed: UInt8) -> CookieStore.Key {
    do {
        return try CookieStore.Key(id: id, bytes: (0..<32).map { seed &+ UInt8($0) })
    } catch {
        fatalError("key: \(error)")
    }
}

private func ring(_ keys: CookieStore.Key...) -> CookieStore {
    do {
        return try CookieStore(keys: keys)
    } catch {
        fatalError("ring: \(error)")
    }
}

/// The ring under test: `k2` seals, `k1` (an older key) still opens.
private let store = ring(key("k2", 0x20), key("k1", 0x10))
/// Only `k1`, to seal seeds under the older key.
private let older = ring(key("k1", 0x10))
/// A different key under the ring's id.
private let foreign = ring(key("k2", 0x99))

/// What the seeds hold: an 8-byte big-endian expiry in milliseconds, then a payload.
private let seedPlaintexts: [[UInt8]] = {
    let expiry: UInt64 = 4_102_444_800_000  // 2100-01-01
    let header = (0..<8).reversed().map { UInt8(truncatingIfNeeded: expiry >> (UInt64($0) * 8)) }
    return [
        #"{"c":1700000000.0,"d":{},"v":1}"#,
        #"{"c":1700000000.5,"d":{"_csrf":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","cart":[1,2.5,"three",null,true]},"v":1}"#,
        #"{"c":1700000000.0,"d":{"flash":"saved","user":"zoë 山田"},"fn":["flash"],"o":"user-42","oe":3,"v":1}"#,
        #"{"c":1700000000.0,"d":{"n":9223372036854775807,"nested":{"a":{"b":[[],{}]}}},"fo":["n"],"ip":"192.0.2.1","ua":"Mozilla/5.0","v":1}"#,
    ].map { header + Array($0.utf8) }
}()

/// Called by libFuzzer before the first input: with `SESSIONKIT_FUZZ_WRITE_SEEDS=<dir>`,
/// writes the seed cookies to `<dir>` and exits.
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt
{
    guard let directory = ProcessInfo.processInfo.environment["SESSIONKIT_FUZZ_WRITE_SEEDS"] else { return 0 }
    do {
        for (index, plaintext) in seedPlaintexts.enumerated() {
            let sealer = index == 0 ? older : store
            let value = try sealer.seal(plaintext, cookieName: cookieName)
            try Data(value.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent("sealed-\(index + 1)"))
        }
    } catch {
        fatalError("writing seeds: \(error)")
    }
    exit(0)
}

/// libFuzzer's callback: checks one input, and traps when an invariant breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSealedCookie(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    if input.first == 0 {
        sealAndOpen(Array(input.dropFirst()))
        return 0
    }
    let value = String(decoding: input, as: UTF8.self)
    guard let plaintext = store.open(Substring(value), cookieName: cookieName) else { return 0 }
    require(seedPlaintexts.contains(plaintext), "a value this ring never sealed opened")
    guard let dot = value.utf8.firstIndex(of: UInt8(ascii: ".")),
        let combined = ReferenceBase64URL.decode(value.utf8[value.utf8.index(after: dot)...]),
        String(value[..<dot]) + "." + ReferenceBase64URL.encode(combined) == value
    else {
        require(false, "a value that is not in canonical form opened")
        return 0
    }
    // As the engine reads it: an 8-byte expiry, then the payload.
    require(plaintext.count > 8, "a seed is too short")
    guard let payload = SessionPayload(decoding: Array(plaintext[8...])) else {
        require(false, "a seed's payload does not decode")
        return 0
    }
    require(SessionPayload(decoding: payload.encoded()) == payload, "a sealed payload does not round-trip")
    return 0
}

private func sealAndOpen(_ plaintext: [UInt8]) {
    let value: String
    do {
        value = try store.seal(plaintext, cookieName: cookieName)
    } catch {
        require(false, "sealing failed: \(error)")
        return
    }
    require(value.hasPrefix("k2."), "the ring did not seal with its first key")
    require(store.open(Substring(value), cookieName: cookieName) == plaintext, "open(seal(x)) != x")
    require(store.open(Substring(value), cookieName: "other") == nil, "a cookie opened under another name")
    require(foreign.open(Substring(value), cookieName: cookieName) == nil, "a cookie opened with a foreign key")
    require(older.open(Substring(value), cookieName: cookieName) == nil, "a cookie opened with a ring that lacks its key")
    // Change one character, chosen by the plaintext, to another base64url character.
    var characters = Array(value.utf8)
    let position = 3 + (plaintext.first.map(Int.init) ?? 0) % (characters.count - 3)
    characters[position] = characters[position] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
    let tampered = String(decoding: characters, as: UTF8.self)
    require(store.open(Substring(tampered), cookieName: cookieName) == nil, "a tampered cookie opened")
}

/// The program\'s entry point, which SwiftPM links as `main` (see ``runFuzzer(_:_:_:)``).
@_cdecl("FuzzSealedCookie_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSealedCookie)
}
