#if SQLite
import Foundation
import SQLiteNIO
import SessionKit
import SessionKitConformance
import SessionKitSQLite
import Testing

@Suite struct SQLiteStoreTests {
    @Test(arguments: SessionStoreConformance.checks)
    func sqliteStoreConforms(_ check: SessionStoreConformance.Check) async throws {
        try await withTemporaryDatabase { database in
            try await using(try await SQLiteStore(path: database.path)) { store in
                try await check.run { store }
            }
        }
    }

    @Test func rowHoldsTheHashedKeyBytesVersionAndMillisecondTimes() async throws {
        try await withTemporaryDatabase { database in
            let clock = ManualClock()
            let token = SessionToken.generate()
            let saved = SessionRecord(key: token.key, data: [0, 0xDE, 0xFF], expiresAt: clock.now() + 1_800.25)
            let result = try await using(try await SQLiteStore(path: database.path, clock: clock)) { store in
                try await store.save(saved, expecting: nil)
            }
            #expect(result == .saved(.initial))

            let rows = try await withRawConnection(database.path) { connection in
                try await connection.query("SELECT id, data, version, created_at, expires_at, owner FROM sessionkit_sessions")
            }
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            #expect(row.column("id") == .text(token.key.hex))
            #expect(row.column("id") != .text(token.cookieValue))
            #expect(row.column("data")?.blob.map { Array($0.readableBytesView) } == [0, 0xDE, 0xFF])
            #expect(row.column("version") == .integer(1))
            #expect(row.column("created_at") == .integer(1_700_000_000_000))
            #expect(row.column("expires_at") == .integer(1_700_001_800_250))
            #expect(row.column("owner") == .null)
        }
    }

    @Test func openingCreatesTheTableItsIndexesAndTheSchemaVersion() async throws {
        try await withTemporaryDatabase { database in
            try await using(try await SQLiteStore(path: database.path)) { _ in }

            try await withRawConnection(database.path) { connection in
                let objects = try await connection.query("SELECT type, name FROM sqlite_master ORDER BY name")
                let names = objects.compactMap { $0.column("name")?.string }
                #expect(names.contains("sessionkit_sessions"))
                #expect(names.contains("sessionkit_sessions_expires_at"))
                #expect(names.contains("sessionkit_sessions_owner"))
                let versions = try await connection.query("SELECT table_name, version FROM sessionkit_schema")
                #expect(versions.count == 1)
                #expect(versions.first?.column("table_name") == .text("sessionkit_sessions"))
                #expect(versions.first?.column("version") == .integer(2))
                // The store leaves `PRAGMA user_version` to the application.
                let userVersion = try await connection.query("PRAGMA user_version")
                #expect(userVersion.first?.column("user_version") == .integer(0))
            }
        }
    }

    @Test func databaseIsInWALMode() async throws {
        try await withTemporaryDatabase { database in
            try await using(try await SQLiteStore(path: database.path)) { store in
                _ = try await store.save(record([1]), expecting: nil)
                // WAL mode is a property of the file, so a second connection reports it too.
                let mode = try await withRawConnection(database.path) { connection in
                    try await connection.query("PRAGMA journal_mode").first?.column("journal_mode")?.string
                }
                #expect(mode == "wal")
                #expect(FileManager.default.fileExists(atPath: database.path + "-wal"))
            }
        }
    }

    @Test func reopeningTheFileKeepsSessionsAndVersions() async throws {
        try await withTemporaryDatabase { database in
            let saved = record(Array("{\"user\":42}".utf8))
            let version = try await using(try await SQLiteStore(path: database.path)) { store in
                _ = try await store.save(saved, expecting: nil)
                var updated = saved
                updated.data = Array("{\"user\":43}".utf8)
                guard case .saved(let version) = try await store.save(updated, expecting: .initial) else {
                    throw TestFailure("an update before the restart did not save")
                }
                return version
            }

            try await using(try await SQLiteStore(path: database.path)) { store in
                let loaded = try #require(try await store.load(saved.key))
                #expect(loaded.record.data == Array("{\"user\":43}".utf8))
                #expect(loaded.version == version)
                #expect(abs(loaded.record.expiresAt.timeIntervalSince(saved.expiresAt)) <= 0.001)
                #expect(try await store.save(saved, expecting: .initial) == .conflict)
                #expect(try await store.save(saved, expecting: version) == .saved(version.next))
            }
        }
    }

    @Test func createOverAnExpiredRowGetsTheVersionAfterIt() async throws {
        try await withTemporaryDatabase { database in
            let clock = ManualClock()
            try await using(try await SQLiteStore(path: database.path, clock: clock)) { store in
                let original = record([1], expiringIn: 60, from: clock.now())
                _ = try await store.save(original, expecting: nil)
                #expect(try await store.save(original, expecting: .initial) == .saved(SessionVersion(2)))
                clock.advance(by: .seconds(61))

                let replacement = SessionRecord(key: original.key, data: [2], expiresAt: clock.now() + 60)
                #expect(try await store.save(replacement, expecting: nil) == .saved(SessionVersion(3)))
                // A request that loaded the expired record cannot overwrite its replacement.
                #expect(try await store.save(original, expecting: SessionVersion(2)) == .conflict)
                #expect(try await store.load(original.key)?.record.data == [2])
            }
        }
    }

    @Test func expiryIsDecidedByTheInjectedClock() async throws {
        try await withTemporaryDatabase { database in
            let clock = ManualClock()
            try await using(try await SQLiteStore(path: database.path, clock: clock)) { store in
                let saved = record([1], expiringIn: 60, from: clock.now())
                _ = try await store.save(saved, expecting: nil)
                clock.advance(by: .seconds(59))
                #expect(try await store.load(saved.key) != nil)
                clock.advance(by: .seconds(1))
                #expect(try await store.load(saved.key) == nil, "a record exactly at its expiry must load as absent")
                try await store.touch(saved.key, expiresAt: clock.now() + 600)
                #expect(try await store.load(saved.key) == nil, "a touch brought an expired record back")
            }
        }
    }

    @Test func unreadableRowLoadsAsNoSessionAndIsDeleted() async throws {
        try await withTemporaryDatabase { database in
            try await using(try await SQLiteStore(path: database.path)) { store in
                let saved = record([1, 2, 3])
                _ = try await store.save(saved, expecting: nil)
                try await withRawConnection(database.path) { connection in
                    _ = try await connection.query(
                        "UPDATE sessionkit_sessions SET data = 'not a blob' WHERE id = ?1",
                        [.text(saved.key.hex)]
                    )
                }

                #expect(try await store.load(saved.key) == nil)
                let remaining = try await withRawConnection(database.path) { connection in
                    try await connection.query("SELECT id FROM sessionkit_sessions").count
                }
                #expect(remaining == 0)
                #expect(try await store.save(saved, expecting: nil) == .saved(.initial))
            }
        }
    }

    @Test func storesWithDifferentTablesInOneFileAreIndependent() async throws {
        try await withTemporaryDatabase { database in
            let first = try await SQLiteStore(path: database.path, configuration: .init(tableName: "first_sessions"))
            try await using(first) { first in
                try await using(try await SQLiteStore(path: database.path, configuration: .init(tableName: "Second_2"))) { second in
                    let saved = record([1])
                    _ = try await first.save(saved, expecting: nil)
                    #expect(try await second.load(saved.key) == nil)
                    #expect(try await second.save(saved, expecting: nil) == .saved(.initial))
                    try await second.delete(saved.key)
                    #expect(try await first.load(saved.key)?.record.data == [1])
                }
            }
        }
    }
}

// MARK: - Sweeping

extension SQLiteStoreTests {
    @Suite struct SweepTests {
        @Test func sweepDeletesOnlyExpiredRows() async throws {
            try await withTemporaryDatabase { database in
                let clock = ManualClock()
                try await using(try await SQLiteStore(path: database.path, clock: clock)) { store in
                    let shortLived = record([1], expiringIn: 10, from: clock.now())
                    let longLived = record([2], expiringIn: 60, from: clock.now())
                    _ = try await store.save(shortLived, expecting: nil)
                    _ = try await store.save(longLived, expecting: nil)
                    #expect(try await store.sweepExpired() == 0)

                    clock.advance(by: .seconds(30))
                    #expect(try await store.sweepExpired() == 1)
                    #expect(try await store.sweepExpired() == 0)

                    let ids = try await withRawConnection(database.path) { connection in
                        try await connection.query("SELECT id FROM sessionkit_sessions").compactMap { $0.column("id")?.string }
                    }
                    #expect(ids == [longLived.key.hex])
                }
            }
        }

        @Test func sweepDeletesMoreRowsThanOneBatch() async throws {
            try await withTemporaryDatabase { database in
                let clock = ManualClock()
                try await using(try await SQLiteStore(path: database.path, clock: clock)) { store in
                    for _ in 0..<2_345 {
                        _ = try await store.save(record([], expiringIn: 1, from: clock.now()), expecting: nil)
                    }
                    let survivor = record([9], expiringIn: 600, from: clock.now())
                    _ = try await store.save(survivor, expecting: nil)
                    clock.advance(by: .seconds(2))

                    #expect(try await store.sweepExpired() == 2_345)
                    #expect(try await store.load(survivor.key)?.record.data == [9])
                }
            }
        }

        @Test func runSweepsExpiredRows() async throws {
            try await withTemporaryDatabase { database in
                let clock = ManualClock()
                let configuration = SQLiteStore.Configuration(sweepInterval: .milliseconds(1))
                try await using(try await SQLiteStore(path: database.path, configuration: configuration, clock: clock)) { store in
                    _ = try await store.save(record([1], expiringIn: 10, from: clock.now()), expecting: nil)
                    clock.advance(by: .seconds(11))
                    let sweeper = Task { try await store.run() }
                    defer { sweeper.cancel() }

                    // Poll the file until the sweeper has run, with a deadline instead of a fixed sleep.
                    let deadline = ContinuousClock.now + .seconds(10)
                    var remaining = -1
                    try await withRawConnection(database.path) { connection in
                        while ContinuousClock.now < deadline {
                            remaining = try await connection.query("SELECT id FROM sessionkit_sessions").count
                            if remaining == 0 { break }
                            await Task.yield()
                        }
                    }
                    #expect(remaining == 0)
                }
            }
        }

        @Test func runReturnsNormallyWhenCancelled() async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { store in
                    let sweeper = Task { try await store.run() }
                    sweeper.cancel()
                    try await sweeper.value
                }
            }
        }
    }
}

// MARK: - Several processes

extension SQLiteStoreTests {
    /// Two stores on one file stand for two app processes sharing the database.
    @Suite struct SharedFileTests {
        @Test func twoStoresOnOneFileSeeEachOthersWrites() async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { first in
                    try await using(try await SQLiteStore(path: database.path)) { second in
                        let saved = record([1])
                        _ = try await first.save(saved, expecting: nil)
                        let loaded = try #require(try await second.load(saved.key))
                        #expect(loaded.record.data == [1])

                        var updated = saved
                        updated.data = [2]
                        guard case .saved(let version) = try await second.save(updated, expecting: loaded.version) else {
                            throw TestFailure("the second store could not update the first store's record")
                        }
                        let reloaded = try #require(try await first.load(saved.key))
                        #expect(reloaded.record.data == [2])
                        #expect(reloaded.version == version)
                        #expect(try await first.save(saved, expecting: loaded.version) == .conflict)

                        try await first.delete(saved.key)
                        #expect(try await second.load(saved.key) == nil)
                        #expect(try await second.save(updated, expecting: version) == .conflict)
                    }
                }
            }
        }

        @Test func storesStartingTogetherOnANewFileBothOpen() async throws {
            try await withTemporaryDatabase { database in
                let stores = try await withThrowingTaskGroup(of: SQLiteStore.self) { group in
                    for _ in 0..<4 {
                        group.addTask { try await SQLiteStore(path: database.path) }
                    }
                    return try await group.reduce(into: [SQLiteStore]()) { $0.append($1) }
                }
                let saved = record([1])
                _ = try await stores[0].save(saved, expecting: nil)
                for store in stores {
                    let loaded = try await store.load(saved.key)
                    #expect(loaded?.record.data == [1])
                    try await store.close()
                }
            }
        }

        @Test func concurrentUpdatesFromTwoStoresHaveExactlyOneWinner() async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { first in
                    try await using(try await SQLiteStore(path: database.path)) { second in
                        let original = record([255])
                        _ = try await first.save(original, expecting: nil)
                        let results = try await withThrowingTaskGroup(of: (UInt8, SessionSaveResult).self) { group in
                            for index in 0..<40 {
                                let store = index.isMultiple(of: 2) ? first : second
                                group.addTask {
                                    var attempt = original
                                    attempt.data = [UInt8(index)]
                                    return (UInt8(index), try await store.save(attempt, expecting: .initial))
                                }
                            }
                            return try await group.reduce(into: [(UInt8, SessionSaveResult)]()) { $0.append($1) }
                        }
                        let winners = results.filter { $0.1 != .conflict }
                        #expect(winners.count == 1)
                        #expect(winners.first?.1 == .saved(SessionVersion(2)))
                        #expect(try await second.load(original.key)?.record.data == winners.first.map { [$0.0] })
                    }
                }
            }
        }

        @Test func concurrentCreatesFromTwoStoresHaveExactlyOneWinner() async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { first in
                    try await using(try await SQLiteStore(path: database.path)) { second in
                        let key = SessionToken.generate().key
                        let expiresAt = Date() + 600
                        let results = try await withThrowingTaskGroup(of: SessionSaveResult.self) { group in
                            for index in 0..<40 {
                                let store = index.isMultiple(of: 2) ? first : second
                                group.addTask {
                                    try await store.save(SessionRecord(key: key, data: [UInt8(index)], expiresAt: expiresAt), expecting: nil)
                                }
                            }
                            return try await group.reduce(into: [SessionSaveResult]()) { $0.append($1) }
                        }
                        #expect(results.filter { $0 != .conflict } == [.saved(.initial)])
                    }
                }
            }
        }

        @Test func concurrentIncrementsThroughTwoEnginesAllLand() async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { first in
                    try await using(try await SQLiteStore(path: database.path)) { second in
                        let engines = try [first, second].map {
                            try SessionEngine(store: $0, configuration: .init(cookie: .init(isSecure: false)))
                        }
                        let session = try await engines[0].load(token: nil)
                        session.put("count", .int(0))
                        let token = try #require(try await engines[0].commit(session).token)

                        let tasks = 8
                        let increments = 10
                        try await withThrowingTaskGroup(of: Void.self) { group in
                            for index in 0..<tasks {
                                let engine = engines[index % 2]
                                group.addTask {
                                    for _ in 0..<increments {
                                        let session = try await engine.load(token: token)
                                        await Task.yield()
                                        _ = session.increment("count")
                                        let result = try await engine.commit(session)
                                        guard result.action == .saved else {
                                            throw TestFailure("an increment's commit did \(result.action), expected saved")
                                        }
                                    }
                                }
                            }
                            try await group.waitForAll()
                        }
                        let last = try await engines[1].load(token: token)
                        #expect(last.get("count")?.intValue == Int64(tasks * increments))
                    }
                }
            }
        }
    }
}

/// A test's own failure, thrown from inside closures where `#require` does not fit.
struct TestFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
#endif  // SQLite
