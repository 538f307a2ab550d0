import Foundation
import Logging
import SessionKit
import SessionKitConformance
import Testing

@testable import SessionKit

/// Encryption at rest (issue 16, item 10): server-side stores kept each payload
/// as plain JSON, so a Redis snapshot, a replica or a database backup held every
/// session's data. With ``SessionEngine/Configuration/payloadEncryption`` the
/// engine seals payloads, bound to the record's key, before any store sees them.
@Suite struct PayloadEncryptionTests {
    static let oldKey = try! CookieStore.Key(id: "old", bytes: Array(repeating: 1, count: 32))
    static let newKey = try! CookieStore.Key(id: "new", bytes: Array(repeating: 2, count: 32))

    /// An engine over a shared memory store, encrypting with `keys`.
    static func engine(
        _ store: MemoryStore,
        keys: [CookieStore.Key]?,
        acceptsPlaintextRecords: Bool = false,
        logger: Logger = Logger(label: "sessionkit.tests")
    ) throws -> SessionEngine {
        var configuration = SessionEngine.Configuration()
        configuration.payloadEncryption = try keys.map { try SessionPayloadEncryption(keys: $0, acceptsPlaintextRecords: acceptsPlaintextRecords) }
        return try SessionEngine(store: store, configuration: configuration, logger: logger)
    }

    static func create(_ engine: SessionEngine, _ values: [String: SessionValue]) async throws -> SessionToken {
        let session = try await engine.load(token: nil)
        session.put(values)
        return try #require(try await engine.commit(session).token)
    }

    static func contains(_ data: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard data.count >= needle.count else { return false }
        return (0...(data.count - needle.count)).contains { data[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    /// A stolen snapshot of the store reveals no session data.
    @Test func theStoreHoldsNoPlaintext() async throws {
        let store = try MemoryStore()
        let engine = try Self.engine(store, keys: [Self.newKey])
        let token = try await Self.create(engine, ["secret": "alice's card number"])

        let stored = try #require(try await store.load(token.key))
        #expect(!Self.contains(stored.record.data, "alice"))
        #expect(!Self.contains(stored.record.data, "secret"))
        #expect(try await engine.load(token: token).get("secret") == "alice's card number")
    }

    /// Someone who can write to the store changes a sealed payload: the session is
    /// no session (never a 500), and the refusal is logged at debug.
    @Test func tamperedCiphertextIsNoSession() async throws {
        let store = try MemoryStore()
        let logs = LogCapture()
        let engine = try Self.engine(store, keys: [Self.newKey], logger: logs.logger)
        let token = try await Self.create(engine, ["user": "alice"])
        let stored = try #require(try await store.load(token.key))
        try #require(!Self.contains(stored.record.data, "alice"), "the record is not encrypted")

        for index in [stored.record.data.count / 2, stored.record.data.count - 1] {
            var data = stored.record.data
            data[index] ^= 0x01
            let current = try #require(try await store.load(token.key))
            _ = try await store.save(SessionRecord(key: token.key, data: data, expiresAt: stored.record.expiresAt), expecting: current.version)
            // A fresh engine: nothing cached from the write above.
            let reader = try Self.engine(store, keys: [Self.newKey], logger: logs.logger)
            let loaded = try await reader.load(token: token)
            #expect(!loaded.isLoaded, "a tampered record at byte \(index) loaded: \(loaded.all())")
        }
        #expect(logs.entries.contains { $0.level == .debug && $0.metadata["sessionkit.reason"] == "record-failed-to-open" })
        #expect(!logs.entries.contains { $0.level > .debug })
    }

    /// A payload copied from one session's record to another's (for example an
    /// admin's session data onto the attacker's own key) opens to nothing.
    @Test func aPayloadCopiedToAnotherKeyIsNoSession() async throws {
        let store = try MemoryStore()
        let engine = try Self.engine(store, keys: [Self.newKey])
        let admin = try await Self.create(engine, ["user": "admin"])
        let attacker = try await Self.create(engine, ["user": "mallory"])
        let adminRecord = try #require(try await store.load(admin.key))
        try #require(!Self.contains(adminRecord.record.data, "admin"), "the record is not encrypted")

        let attackerRecord = try #require(try await store.load(attacker.key))
        let moved = SessionRecord(key: attacker.key, data: adminRecord.record.data, expiresAt: attackerRecord.record.expiresAt)
        _ = try await store.save(moved, expecting: attackerRecord.version)

        let reader = try Self.engine(store, keys: [Self.newKey])
        let loaded = try await reader.load(token: attacker)
        #expect(!loaded.isLoaded)
        #expect(loaded.get("user") == nil)
        #expect(try await reader.load(token: admin).get("user") == "admin")
    }

    /// Key rotation: with the new key first, a session sealed with the old key
    /// still loads, its next write is sealed with the new key, and then the old
    /// key can go.
    @Test func rotationDecryptsWithTheOldKeyAndEncryptsWithTheNew() async throws {
        let store = try MemoryStore()
        let before = try Self.engine(store, keys: [Self.oldKey])
        let token = try await Self.create(before, ["count": 1])
        let sealedOld = try #require(try await store.load(token.key)).record.data
        try #require(!Self.contains(sealedOld, "count"), "the record is not encrypted")

        let rotated = try Self.engine(store, keys: [Self.newKey, Self.oldKey])
        let session = try await rotated.load(token: token)
        #expect(session.get("count") == 1, "the old key no longer decrypts")
        session.increment("count")
        #expect(try await rotated.commit(session).action == .saved)
        let sealedNew = try #require(try await store.load(token.key)).record.data
        #expect(Self.contains(sealedNew, "new") && !Self.contains(sealedNew, "old"), "the write was not sealed with the new key")

        let after = try Self.engine(store, keys: [Self.newKey])
        #expect(try await after.load(token: token).get("count") == 2)
        let oldOnly = try Self.engine(store, keys: [Self.oldKey])
        #expect(!(try await oldOnly.load(token: token).isLoaded), "a record sealed with the new key opened with the old one alone")
    }

    /// Turning encryption on: plain records are no session, unless the changeover setting reads them.
    @Test func aPlainRecordIsNoSessionUnlessPlaintextIsAccepted() async throws {
        let store = try MemoryStore()
        let plain = try Self.engine(store, keys: nil)
        let token = try await Self.create(plain, ["user": "alice"])
        try #require(Self.contains(try #require(try await store.load(token.key)).record.data, "alice"))

        let strict = try Self.engine(store, keys: [Self.newKey])
        #expect(!(try await strict.load(token: token).isLoaded))

        let changeover = try Self.engine(store, keys: [Self.newKey], acceptsPlaintextRecords: true)
        let session = try await changeover.load(token: token)
        #expect(session.get("user") == "alice")
        session.put("theme", "dark")
        _ = try await changeover.commit(session)
        #expect(!Self.contains(try #require(try await store.load(token.key)).record.data, "alice"), "the next write was not encrypted")
        #expect(try await strict.load(token: token).get("user") == "alice")
    }

    /// The owner's session list reads encrypted records too.
    @Test func anOwnersSessionsAreListedWithEncryptionOn() async throws {
        let store = try MemoryStore()
        let engine = try Self.engine(store, keys: [Self.newKey])
        let token = try await Self.create(engine, ["user": "alice"])
        let session = try await engine.load(token: token)
        session.regenerate(owner: "alice")
        let current = try #require(try await engine.commit(session).token)
        try #require(!Self.contains(try #require(try await store.load(current.key)).record.data, "\"o\""), "the record is not encrypted")

        #expect(try await engine.sessions(of: "alice").count == 1)
    }

    @Test func encryptionWithTheCookieStoreIsRefusedAtStartUp() throws {
        var configuration = SessionEngine.Configuration()
        configuration.payloadEncryption = try SessionPayloadEncryption(keys: [Self.newKey])
        let error = #expect(throws: SessionConfigurationError.self) {
            try SessionEngine(cookieStore: try CookieStore(keys: [Self.oldKey]), configuration: configuration)
        }
        #expect(error?.setting == "payloadEncryption")
    }

    @Test(arguments: ["", "a:AAAA", "a:\(String(repeating: "A", count: 43)),a:\(String(repeating: "B", count: 43))", "no-colon"])
    func aBadKeyListIsRefusedNamingTheSetting(_ list: String) {
        let error = #expect(throws: SessionConfigurationError.self) { try SessionPayloadEncryption(keyList: list) }
        #expect(error?.setting == "payloadEncryption.keys")
    }

    @Test func encryptionIsOffByDefault() {
        #expect(SessionEngine.Configuration().payloadEncryption == nil)
    }
}
