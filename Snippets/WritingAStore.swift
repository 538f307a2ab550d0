// snippet.hide
import Foundation
// snippet.show
// snippet.store
import SessionKit
import Synchronization

/// The smallest correct store: records in a dictionary, behind one lock.
final class DictionaryStore: SessionStore {
    private let records = Mutex<[SessionKey: StoredSession]>([:])
    private let clock: any SessionClock

    init(clock: any SessionClock = SystemSessionClock()) { self.clock = clock }

    var name: String { "dictionary" }  // names the store in logs and in 503 bodies

    func load(_ key: SessionKey) async throws -> StoredSession? {
        let now = clock.now()
        return records.withLock { records in
            guard let stored = records[key], stored.record.expiresAt > now else { return nil }  // expired is absent
            return stored
        }
    }

    func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        let now = clock.now()
        return records.withLock { records in
            let existing = records[record.key]
            let live = existing.flatMap { $0.record.expiresAt > now ? $0 : nil }
            // Create only where no live record is; update only the version that was loaded. Never a blind upsert.
            guard live?.version == version else { return .conflict }
            let next = existing?.version.next ?? .initial
            records[record.key] = StoredSession(record: record, version: next)
            return .saved(next)
        }
    }

    func touch(_ key: SessionKey, expiresAt: Date) async throws {
        let now = clock.now()
        records.withLock { records in
            guard let stored = records[key], stored.record.expiresAt > now else { return }  // never creates
            records[key]?.record.expiresAt = expiresAt
        }
    }

    func delete(_ key: SessionKey) async throws {
        _ = records.withLock { $0.removeValue(forKey: key) }  // absent is a no-op
    }
}
// snippet.end

// snippet.conformance
import SessionKitConformance
import Testing

@Test(arguments: SessionStoreConformance.coreChecks)  // `checks` once the store is a SessionOwnerIndex
func dictionaryStoreConforms(_ check: SessionStoreConformance.Check) async throws {
    try await check.run { DictionaryStore() }
}
// snippet.end

// snippet.anywhere
/// The same checks without a test framework: each returns, or throws a ConformanceFailure naming the rule.
func checkDictionaryStore() async throws {
    for check in SessionStoreConformance.coreChecks {
        try await check.run { DictionaryStore() }
    }
}
// snippet.end
