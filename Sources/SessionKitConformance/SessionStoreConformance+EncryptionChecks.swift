import Foundation
import SessionKit

extension SessionStoreConformance {
    /// What payload encryption promises over this store: the store never holds the
    /// plaintext, and a sealed payload that was changed or moved to another key
    /// loads as no session.
    static func encryptionChecks(_ encryption: SessionPayloadEncryption) -> [Check] {
        [
            Check("an encrypted payload reaches the store without its plaintext") { store in
                let engine = try makeEngine(store, encryption: encryption)
                let first = try await engine.load(cookieHeader: nil)
                first.put("card", "4111 1111 1111 1111")
                let created = try await engine.commit(first)
                let key = try token(of: created).key
                let stored = try await loadLive(key, from: store, "right after the engine created an encrypted session")
                try expect(!contains(stored.record.data, "4111"), "the store holds the session's value in plaintext")
                try expect(!contains(stored.record.data, "card"), "the store holds the session's key names in plaintext")

                let second = try await engine.load(cookieHeader: try cookie(engine, created))
                try expect(second.get("card") == "4111 1111 1111 1111", "the encrypted session did not read back: \(second.all())")
            },

            Check("a tampered encrypted payload is no session") { store in
                let engine = try makeEngine(store, encryption: encryption)
                let first = try await engine.load(cookieHeader: nil)
                first.put("user", "alice")
                let created = try await engine.commit(first)
                let key = try token(of: created).key
                let stored = try await loadLive(key, from: store, "right after the engine created an encrypted session")
                var data = stored.record.data
                data[data.count / 2] ^= 0x01
                let tampered = SessionRecord(key: key, data: data, expiresAt: stored.record.expiresAt, owner: stored.record.owner)
                guard case .saved = try await store.save(tampered, expecting: stored.version) else {
                    throw fail("saving over a live record with its current version conflicted")
                }

                // A second engine has nothing cached from the first one's write.
                let reader = try makeEngine(store, encryption: encryption)
                let loaded = try await reader.load(cookieHeader: try cookie(reader, created))
                try expect(!loaded.isLoaded, "a tampered encrypted record loaded as a session: \(loaded.all())")
            },

            Check("an encrypted payload copied under another session's key is no session") { store in
                let engine = try makeEngine(store, encryption: encryption)
                let admin = try await engine.load(cookieHeader: nil)
                admin.put("user", "admin")
                let adminKey = try token(of: try await engine.commit(admin)).key
                let attacker = try await engine.load(cookieHeader: nil)
                attacker.put("user", "mallory")
                let attackerCreated = try await engine.commit(attacker)
                let attackerKey = try token(of: attackerCreated).key

                let adminRecord = try await loadLive(adminKey, from: store, "right after the engine created the first session")
                let attackerRecord = try await loadLive(attackerKey, from: store, "right after the engine created the second session")
                let moved = SessionRecord(key: attackerKey, data: adminRecord.record.data, expiresAt: attackerRecord.record.expiresAt)
                guard case .saved = try await store.save(moved, expecting: attackerRecord.version) else {
                    throw fail("saving over a live record with its current version conflicted")
                }

                let reader = try makeEngine(store, encryption: encryption)
                let loaded = try await reader.load(cookieHeader: try cookie(reader, attackerCreated))
                try expect(!loaded.isLoaded, "another session's encrypted payload loaded under a second key: \(loaded.all())")
            },
        ]
    }

    /// Whether `text`'s UTF-8 bytes occur in `data`.
    static func contains(_ data: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard !needle.isEmpty, data.count >= needle.count else { return false }
        return (0...(data.count - needle.count)).contains { data[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
