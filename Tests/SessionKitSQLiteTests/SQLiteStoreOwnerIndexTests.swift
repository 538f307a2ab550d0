#if SQLite
import Foundation
import SQLiteNIO
import SessionKit
import SessionKitConformance
import Testing

@testable import SessionKitSQLite

extension SQLiteStoreTests {
    /// How the SQLite store keeps its owner index: the `owner` column and a
    /// partial index on it.
    @Suite struct OwnerIndexTests {
        private func ownerColumn(_ path: String, _ key: SessionKey) async throws -> SQLiteData? {
            try await withRawConnection(path) { connection in
                try await connection.query("SELECT owner FROM sessionkit_sessions WHERE id = ?1", [.text(key.hex)])
                    .first?.column("owner")
            }
        }

        @Test func ownerIsWrittenToItsColumnOnEverySaveAndLoadedBack() async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { store in
                    var saved = record([1])
                    saved.owner = "alice"
                    _ = try await store.save(saved, expecting: nil)
                    #expect(try await ownerColumn(database.path, saved.key) == .text("alice"))
                    #expect(try await store.load(saved.key)?.record.owner == "alice")

                    saved.owner = "bob"
                    _ = try await store.save(saved, expecting: .initial)
                    #expect(try await ownerColumn(database.path, saved.key) == .text("bob"))
                    #expect(try await store.load(saved.key)?.record.owner == "bob")

                    saved.owner = nil
                    _ = try await store.save(saved, expecting: SessionVersion(2))
                    #expect(try await ownerColumn(database.path, saved.key) == .null)
                    #expect(try await store.load(saved.key)?.record.owner == nil)
                }
            }
        }

        @Test(arguments: OwnerSample.all)
        func anyOwnerTextRoundTripsThroughLoadAndListing(_ sample: OwnerSample) async throws {
            let owner = sample.owner
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { store in
                    var saved = record([1])
                    saved.owner = owner
                    _ = try await store.save(saved, expecting: nil)
                    #expect(try await store.load(saved.key)?.record.owner == owner)
                    #expect(try await store.sessions(of: owner).map(\.record.key) == [saved.key])
                }
            }
        }

        @Test func createOverAnExpiredRowTakesTheNewOwner() async throws {
            try await withTemporaryDatabase { database in
                let clock = ManualClock()
                try await using(try await SQLiteStore(path: database.path, clock: clock)) { store in
                    var saved = record([1], expiringIn: 60, from: clock.now())
                    saved.owner = "alice"
                    _ = try await store.save(saved, expecting: nil)
                    clock.advance(by: .seconds(61))

                    var replacement = record([2], expiringIn: 60, from: clock.now())
                    replacement.key = saved.key
                    replacement.owner = "bob"
                    #expect(try await store.save(replacement, expecting: nil) == .saved(SessionVersion(2)))
                    #expect(try await store.sessions(of: "alice").isEmpty)
                    #expect(try await store.sessions(of: "bob").map(\.record.data) == [[2]])
                }
            }
        }

        @Test func deletingAnOwnersSessionsCountsOnlyLiveOnesAndRemovesExpiredOnesToo() async throws {
            try await withTemporaryDatabase { database in
                let clock = ManualClock()
                try await using(try await SQLiteStore(path: database.path, clock: clock)) { store in
                    var records: [SessionRecord] = []
                    for seconds in [60.0, 600, 600] {
                        var saved = record([1], expiringIn: seconds, from: clock.now())
                        saved.owner = "alice"
                        _ = try await store.save(saved, expecting: nil)
                        records.append(saved)
                    }
                    clock.advance(by: .seconds(61))

                    #expect(try await store.deleteSessions(of: "alice", except: nil) == 2)
                    let remaining = try await withRawConnection(database.path) { connection in
                        try await connection.query("SELECT id FROM sessionkit_sessions").count
                    }
                    #expect(remaining == 0)
                }
            }
        }

        @Test func ownerQueriesUseTheOwnerIndexInIdOrder() async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { _ in }
                let statements = SQLiteStore.Statements(table: "sessionkit_sessions")
                try await withRawConnection(database.path) { connection in
                    let queries: [(String, [SQLiteData])] = [
                        (statements.ownerSessions, [.text("alice"), .text(""), .integer(100)]),
                        (statements.deleteOwnerSessions, [.text("alice"), .null, .integer(100)]),
                    ]
                    for (sql, binds) in queries {
                        let plan = try await connection.query("EXPLAIN QUERY PLAN " + sql, binds)
                        let details = plan.compactMap { $0.column("detail")?.string }.joined(separator: "; ")
                        #expect(details.contains("INDEX sessionkit_sessions_owner"), "plan: \(details)")
                        #expect(!details.hasPrefix("SCAN"), "plan: \(details)")
                        // A page reads the index in id order and stops at the limit: no sort of all the owner's rows.
                        #expect(!details.contains("TEMP B-TREE"), "plan: \(details)")
                    }
                }
            }
        }

        @Test func tableFromSchemaVersion1GainsTheOwnerIndexWhenOpened() async throws {
            try await withTemporaryDatabase { database in
                var saved = record([1])
                saved.owner = "alice"
                try await using(try await SQLiteStore(path: database.path)) { store in
                    _ = try await store.save(saved, expecting: nil)
                }
                // What version 1 of the store left behind: the table without the owner index.
                try await withRawConnection(database.path) { connection in
                    _ = try await connection.query("DROP INDEX sessionkit_sessions_owner")
                    _ = try await connection.query("UPDATE sessionkit_schema SET version = 1")
                }

                let listed = try await using(try await SQLiteStore(path: database.path)) { store in
                    try await store.sessions(of: "alice").map(\.record.key)
                }
                #expect(listed == [saved.key])
                try await withRawConnection(database.path) { connection in
                    let index = try await connection.query(
                        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'sessionkit_sessions_owner'"
                    )
                    #expect(index.first?.column("sql")?.string?.contains("WHERE owner IS NOT NULL") == true)
                    let version = try await connection.query("SELECT version FROM sessionkit_schema")
                    #expect(version.first?.column("version") == .integer(2))
                }
            }
        }
    }
}

/// An owner id that is easy to get wrong, named for the test log (the ids
/// themselves hold a NUL byte or run to 10,000 characters).
struct OwnerSample: Sendable, CustomTestStringConvertible {
    let testDescription: String
    let owner: String

    static let all = [
        OwnerSample(testDescription: "empty", owner: ""),
        OwnerSample(testDescription: "non-ASCII", owner: "ユーザー é"),
        OwnerSample(testDescription: "with a NUL byte", owner: "a\u{0}b"),
        OwnerSample(testDescription: "10,000 characters", owner: String(repeating: "x", count: 10_000)),
    ]
}
#endif  // SQLite
