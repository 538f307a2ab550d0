import Foundation
import SessionKit

extension SessionStoreConformance {
    /// The checks of ``SessionKit/SessionStore``'s own contract: load, compare-and-swap
    /// save, touch, delete, expiry, exact bytes, and races between tasks.
    public static var storeChecks: [Check] {
        [
            Check("load of an unknown key is nil") { store in
                let loaded = try await store.load(newKey())
                try expect(loaded == nil, "load returned a record for a key that was never saved")
            },

            Check("create then load returns the same data, expiry and version") { store in
                let record = liveRecord(data: Array("{\"user\":42}".utf8))
                let version = try await create(record, in: store)
                let loaded = try await loadLive(record.key, from: store, "right after creating it")
                try expect(loaded.record.key == record.key, "load returned a record under another key")
                try expect(loaded.record.data == record.data, "load returned other bytes than were saved")
                try expectSameExpiry(loaded.record.expiresAt, record.expiresAt)
                try expect(loaded.version == version, "load returned version \(loaded.version), save returned \(version)")
            },

            Check("empty data round-trips") { store in
                try await expectRoundTrip([], in: store, "empty data")
            },

            Check("all 256 byte values round-trip") { store in
                try await expectRoundTrip((0...255).map { UInt8($0) }, in: store, "the 256 byte values")
            },

            Check("64 KiB of random bytes round-trip") { store in
                var generator = SystemRandomNumberGenerator()
                let data = (0..<65_536).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
                try await expectRoundTrip(data, in: store, "64 KiB of random bytes")
            },

            Check("UTF-8 multi-byte text round-trips") { store in
                let text = "{\"name\":\"Zoë Łukasz 山田 😀 \\u0000\",\"nul\":\"\u{0}\",\"rtl\":\"שלום\"}"
                try await expectRoundTrip(Array(text.utf8), in: store, "UTF-8 multi-byte text")
            },

            Check("create when a live record exists conflicts and leaves it unchanged") { store in
                let original = liveRecord(data: [1, 2, 3])
                let version = try await create(original, in: store)
                var intruder = liveRecord(data: [9, 9, 9])
                intruder.key = original.key
                let result = try await store.save(intruder, expecting: nil)
                try expect(result == .conflict, "a create over a live record returned \(result), expected conflict")
                let loaded = try await loadLive(original.key, from: store, "after a conflicting create")
                try expect(loaded.record.data == original.data, "a conflicting create changed the record's data")
                try expect(loaded.version == version, "a conflicting create changed the record's version")
            },

            Check("update with the current version succeeds and changes the version") { store in
                let original = liveRecord(data: [1])
                let version = try await create(original, in: store)
                var updated = original
                updated.data = [2, 2]
                updated.expiresAt = Date() + 1_200
                let result = try await store.save(updated, expecting: version)
                guard case .saved(let newVersion) = result else {
                    throw fail("an update with the current version returned \(result), expected saved")
                }
                try expect(newVersion != version, "an update kept version \(version); every save must change it")
                let loaded = try await loadLive(original.key, from: store, "after an update")
                try expect(loaded.record.data == updated.data, "load after an update returned the old data")
                try expectSameExpiry(loaded.record.expiresAt, updated.expiresAt)
                try expect(loaded.version == newVersion, "load returned version \(loaded.version), the update returned \(newVersion)")
            },

            Check("update with a stale version conflicts and leaves the data unchanged") { store in
                let original = liveRecord(data: [1])
                let staleVersion = try await create(original, in: store)
                var second = original
                second.data = [2]
                guard case .saved(let currentVersion) = try await store.save(second, expecting: staleVersion) else {
                    throw fail("an update with the current version did not save")
                }
                var late = original
                late.data = [3]
                let result = try await store.save(late, expecting: staleVersion)
                try expect(result == .conflict, "an update with a stale version returned \(result), expected conflict")
                let loaded = try await loadLive(original.key, from: store, "after a stale update")
                try expect(loaded.record.data == second.data, "a stale update overwrote the data")
                try expect(loaded.version == currentVersion, "a stale update changed the version")
            },

            Check("update of a missing key conflicts and does not create it") { store in
                let record = liveRecord(data: [1])
                for version in [SessionVersion.initial, SessionVersion(2), SessionVersion(.max)] {
                    let result = try await store.save(record, expecting: version)
                    try expect(result == .conflict, "an update of a missing key (expecting \(version)) returned \(result)")
                }
                let loaded = try await store.load(record.key)
                try expect(loaded == nil, "an update of a missing key created the record")
            },

            Check("update after delete conflicts and does not bring the record back") { store in
                let record = liveRecord(data: [1])
                let version = try await create(record, in: store)
                try await store.delete(record.key)
                var late = record
                late.data = [2]
                let result = try await store.save(late, expecting: version)
                try expect(result == .conflict, "an update after delete returned \(result), expected conflict")
                let loaded = try await store.load(record.key)
                try expect(loaded == nil, "an update after delete resurrected the record")
            },

            Check("a record saved with an expiry in the past loads as nil and can be created again") { store in
                let expired = expiredRecord(data: [1])
                _ = try await store.save(expired, expecting: nil)
                let loaded = try await store.load(expired.key)
                try expect(loaded == nil, "a record whose expiry has passed loaded as live")
                var fresh = liveRecord(data: [2])
                fresh.key = expired.key
                let version = try await create(fresh, in: store, "over an expired record")
                let reloaded = try await loadLive(fresh.key, from: store, "after creating it over an expired record")
                try expect(reloaded.record.data == fresh.data, "the new record has the expired record's data")
                try expect(reloaded.version == version, "load returned version \(reloaded.version), save returned \(version)")
            },

            Check("create over an expired record that was never loaded succeeds") { store in
                let original = liveRecord(data: [1])
                let version = try await create(original, in: store)
                var expired = original
                expired.expiresAt = Date() - 5
                guard case .saved = try await store.save(expired, expecting: version) else {
                    throw fail("an update that moved the expiry into the past did not save")
                }
                var fresh = liveRecord(data: [2])
                fresh.key = original.key
                _ = try await create(fresh, in: store, "over an expired record")
                let loaded = try await loadLive(fresh.key, from: store, "after creating it over an expired record")
                try expect(loaded.record.data == fresh.data, "the new record has the expired record's data")
            },

            Check("update of an expired record conflicts") { store in
                let original = liveRecord(data: [1])
                let version = try await create(original, in: store)
                var expired = original
                expired.expiresAt = Date() - 5
                guard case .saved(let expiredVersion) = try await store.save(expired, expecting: version) else {
                    throw fail("an update that moved the expiry into the past did not save")
                }
                var revived = original
                revived.data = [2]
                let result = try await store.save(revived, expecting: expiredVersion)
                try expect(result == .conflict, "an update of an expired record returned \(result), expected conflict")
                let loaded = try await store.load(original.key)
                try expect(loaded == nil, "an update of an expired record brought it back")
            },

            Check("touch extends the expiry and keeps data and version") { store in
                let record = liveRecord(data: [7, 7])
                let version = try await create(record, in: store)
                let later = Date() + 1_200
                try await store.touch(record.key, expiresAt: later)
                let loaded = try await loadLive(record.key, from: store, "after a touch")
                try expectSameExpiry(loaded.record.expiresAt, later)
                try expect(loaded.record.data == record.data, "a touch changed the data")
                try expect(loaded.version == version, "a touch changed the version from \(version) to \(loaded.version)")
                let result = try await store.save(record, expecting: version)
                guard case .saved = result else {
                    throw fail("an update with the version from before a touch returned \(result); touch must not change it")
                }
            },

            Check("touch of a missing key does not create it") { store in
                let key = newKey()
                try await store.touch(key, expiresAt: Date() + 600)
                let loaded = try await store.load(key)
                try expect(loaded == nil, "a touch of a missing key created a record")
            },

            Check("touch of an expired record does not bring it back") { store in
                let original = liveRecord(data: [1])
                let version = try await create(original, in: store)
                var expired = original
                expired.expiresAt = Date() - 5
                guard case .saved = try await store.save(expired, expecting: version) else {
                    throw fail("an update that moved the expiry into the past did not save")
                }
                try await store.touch(original.key, expiresAt: Date() + 600)
                let loaded = try await store.load(original.key)
                try expect(loaded == nil, "a touch brought an expired record back")
            },

            Check("delete removes the record") { store in
                let record = liveRecord(data: [1])
                _ = try await create(record, in: store)
                try await store.delete(record.key)
                let loaded = try await store.load(record.key)
                try expect(loaded == nil, "load returned a record after it was deleted")
                let version = try await create(record, in: store, "after delete")
                let reloaded = try await loadLive(record.key, from: store, "after creating it again")
                try expect(reloaded.version == version, "load returned version \(reloaded.version), save returned \(version)")
            },

            Check("delete of a missing key is a no-op") { store in
                let key = newKey()
                try await store.delete(key)
                try await store.delete(key)
                let loaded = try await store.load(key)
                try expect(loaded == nil, "deleting a missing key created a record")
            },

            Check("concurrent creates of one key: exactly one wins") { store in
                let key = newKey()
                let expiresAt = Date() + 600
                let results = try await withThrowingTaskGroup(of: (UInt8, SessionSaveResult).self) { group in
                    for index in 0..<concurrentWriters {
                        group.addTask {
                            let record = SessionRecord(key: key, data: [UInt8(index)], expiresAt: expiresAt)
                            return (UInt8(index), try await store.save(record, expecting: nil))
                        }
                    }
                    return try await group.reduce(into: [(UInt8, SessionSaveResult)]()) { $0.append($1) }
                }
                let winners = results.compactMap { index, result -> (UInt8, SessionVersion)? in
                    if case .saved(let version) = result { (index, version) } else { nil }
                }
                try expect(
                    winners.count == 1,
                    "\(winners.count) of \(concurrentWriters) concurrent creates of one key succeeded; exactly one must"
                )
                let loaded = try await loadLive(key, from: store, "after concurrent creates")
                try expect(loaded.record.data == [winners[0].0], "the stored data is not the winning create's")
                try expect(loaded.version == winners[0].1, "the stored version is not the winning create's")
            },

            Check("concurrent updates with the same loaded version: exactly one wins") { store in
                let original = liveRecord(data: [255])
                let version = try await create(original, in: store)
                let results = try await withThrowingTaskGroup(of: (UInt8, SessionSaveResult).self) { group in
                    for index in 0..<concurrentWriters {
                        group.addTask {
                            var record = original
                            record.data = [UInt8(index)]
                            return (UInt8(index), try await store.save(record, expecting: version))
                        }
                    }
                    return try await group.reduce(into: [(UInt8, SessionSaveResult)]()) { $0.append($1) }
                }
                let winners = results.compactMap { index, result -> (UInt8, SessionVersion)? in
                    if case .saved(let version) = result { (index, version) } else { nil }
                }
                try expect(
                    winners.count == 1,
                    "\(winners.count) of \(concurrentWriters) concurrent updates from one version succeeded; exactly one must"
                )
                let loaded = try await loadLive(original.key, from: store, "after concurrent updates")
                try expect(loaded.record.data == [winners[0].0], "the stored data is not the winning update's")
                try expect(loaded.version == winners[0].1, "the stored version is not the winning update's")
            },

            Check("two keys are independent") { store in
                let first = liveRecord(data: [1])
                let second = liveRecord(data: [2])
                let firstVersion = try await create(first, in: store)
                let secondVersion = try await create(second, in: store)
                var changed = first
                changed.data = [3]
                guard case .saved = try await store.save(changed, expecting: firstVersion) else {
                    throw fail("an update of the first key did not save")
                }
                try await store.touch(first.key, expiresAt: Date() + 1_800)
                let untouched = try await loadLive(second.key, from: store, "after the first key changed")
                try expect(untouched.record.data == second.data, "changing one key changed another key's data")
                try expect(untouched.version == secondVersion, "changing one key changed another key's version")
                try expectSameExpiry(untouched.record.expiresAt, second.expiresAt)
                try await store.delete(first.key)
                let survivor = try await loadLive(second.key, from: store, "after the first key was deleted")
                try expect(survivor.record.data == second.data, "deleting one key changed another key")
            },
        ]
    }

    /// How many tasks race in the concurrency checks.
    static let concurrentWriters = 20

    static func newKey() -> SessionKey {
        SessionToken.generate().key
    }

    /// A record under a fresh key that expires ten minutes from now.
    static func liveRecord(data: [UInt8]) -> SessionRecord {
        SessionRecord(key: newKey(), data: data, expiresAt: Date() + 600)
    }

    /// A record under a fresh key whose expiry passed five seconds ago.
    static func expiredRecord(data: [UInt8]) -> SessionRecord {
        SessionRecord(key: newKey(), data: data, expiresAt: Date() - 5)
    }

    /// Creates `record`, failing the check unless the store saves it.
    static func create(
        _ record: SessionRecord,
        in store: any SessionStore,
        _ context: String = "of a new key",
        file: String = #fileID,
        line: Int = #line
    ) async throws -> SessionVersion {
        let result = try await store.save(record, expecting: nil)
        guard case .saved(let version) = result else {
            throw fail("a create \(context) returned \(result), expected saved", file: file, line: line)
        }
        return version
    }

    /// Loads `key`, failing the check unless the store returns a record.
    static func loadLive(
        _ key: SessionKey,
        from store: any SessionStore,
        _ context: String,
        file: String = #fileID,
        line: Int = #line
    ) async throws -> StoredSession {
        guard let loaded = try await store.load(key) else {
            throw fail("load returned nil \(context)", file: file, line: line)
        }
        return loaded
    }

    /// Fails unless two expiries agree to the millisecond (stores may round to milliseconds).
    static func expectSameExpiry(
        _ loaded: Date,
        _ saved: Date,
        file: String = #fileID,
        line: Int = #line
    ) throws(ConformanceFailure) {
        let difference = abs(loaded.timeIntervalSince(saved))
        try expect(
            difference <= 0.001,
            "the loaded expiry is \(difference) s away from the saved one; stores must keep it to the millisecond",
            file: file,
            line: line
        )
    }

    /// Checks that `data` comes back byte for byte, both through a create and through an update.
    static func expectRoundTrip(
        _ data: [UInt8],
        in store: any SessionStore,
        _ what: String,
        file: String = #fileID,
        line: Int = #line
    ) async throws {
        let created = SessionRecord(key: newKey(), data: data, expiresAt: Date() + 600)
        _ = try await create(created, in: store, file: file, line: line)
        let loaded = try await loadLive(created.key, from: store, "after creating \(what)", file: file, line: line)
        try expect(
            loaded.record.data == data,
            "\(what) did not round-trip through a create: saved \(data.count) bytes, loaded \(loaded.record.data.count)",
            file: file,
            line: line
        )

        let updated = SessionRecord(key: newKey(), data: [0x2A], expiresAt: Date() + 600)
        let version = try await create(updated, in: store, file: file, line: line)
        let result = try await store.save(SessionRecord(key: updated.key, data: data, expiresAt: updated.expiresAt), expecting: version)
        guard case .saved = result else {
            throw fail("an update to \(what) returned \(result), expected saved", file: file, line: line)
        }
        let reloaded = try await loadLive(updated.key, from: store, "after updating to \(what)", file: file, line: line)
        try expect(
            reloaded.record.data == data,
            "\(what) did not round-trip through an update: saved \(data.count) bytes, loaded \(reloaded.record.data.count)",
            file: file,
            line: line
        )
    }
}
