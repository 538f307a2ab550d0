#if SQLite
import Foundation
import SQLiteNIO
import SessionKit
import SessionKitSQLite
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Failures must surface as errors, never as "no session" or a conflict.
@Suite struct SQLiteStoreFailureTests {
    /// Expects `body` to throw a ``SessionStoreError`` with code `unavailable`.
    private func expectUnavailable(
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("\(what) succeeded; expected SessionStoreError.unavailable", sourceLocation: sourceLocation)
        } catch let error as SessionStoreError {
            #expect(error.code == .unavailable, "\(what): \(error)", sourceLocation: sourceLocation)
            #expect(error.storeName == "sqlite", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what) threw \(error); expected SessionStoreError.unavailable", sourceLocation: sourceLocation)
        }
    }

    @Test func lockedDatabaseFailsWithUnavailableNeverConflictOrAbsent() async throws {
        try await withTemporaryDatabase { database in
            let configuration = SQLiteStore.Configuration(busyTimeout: .milliseconds(20))
            try await using(try await SQLiteStore(path: database.path, configuration: configuration)) { store in
                let saved = record([1])
                _ = try await store.save(saved, expecting: nil)

                try await withRawConnection(database.path) { other in
                    // Another process holds the write lock for longer than the busy timeout.
                    _ = try await other.query("BEGIN IMMEDIATE")
                    await expectUnavailable("a create") { _ = try await store.save(record([2]), expecting: nil) }
                    await expectUnavailable("an update") { _ = try await store.save(saved, expecting: .initial) }
                    await expectUnavailable("a touch") { try await store.touch(saved.key, expiresAt: Date() + 900) }
                    await expectUnavailable("a delete") { try await store.delete(saved.key) }
                    await expectUnavailable("a sweep") { try await store.sweepExpired() }
                    // WAL readers do not wait for the writer.
                    #expect(try await store.load(saved.key)?.record.data == [1])
                    _ = try await other.query("ROLLBACK")
                }

                #expect(try await store.save(saved, expecting: .initial) == .saved(SessionVersion(2)))
            }
        }
    }

    @Test func lockedDatabaseErrorNamesTheFileAndTheCauseButNoKey() async throws {
        try await withTemporaryDatabase { database in
            let configuration = SQLiteStore.Configuration(busyTimeout: .zero)
            try await using(try await SQLiteStore(path: database.path, configuration: configuration)) { store in
                let token = SessionToken.generate()
                try await withRawConnection(database.path) { other in
                    _ = try await other.query("BEGIN IMMEDIATE")
                    let error = await #expect(throws: SessionStoreError.self) {
                        try await store.save(SessionRecord(key: token.key, data: [1], expiresAt: Date() + 60), expecting: nil)
                    }
                    let text = error.map(String.init(describing:)) ?? ""
                    #expect(text.contains(database.path))
                    #expect(text.contains("locked"))
                    #expect(error?.cause is SQLiteError)
                    #expect(!text.contains(token.key.hex))
                    #expect(!text.contains(token.cookieValue))
                    _ = try await other.query("ROLLBACK")
                }
            }
        }
    }

    /// A write that SQLite refuses (here by triggers another process installed,
    /// standing in for a read-only or full disk, which root cannot provoke) is an
    /// error: never a conflict, never a missing session.
    @Test func writeRefusedBySQLiteFailsWithUnavailable() async throws {
        try await withTemporaryDatabase { database in
            try await using(try await SQLiteStore(path: database.path)) { store in
                let saved = record([1])
                _ = try await store.save(saved, expecting: nil)
                try await withRawConnection(database.path) { other in
                    for event in ["INSERT", "UPDATE", "DELETE"] {
                        _ = try await other.query(
                            "CREATE TRIGGER refuse_\(event.lowercased()) BEFORE \(event) ON sessionkit_sessions "
                                + "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                        )
                    }
                }

                await expectUnavailable("a create") { _ = try await store.save(record([2]), expecting: nil) }
                await expectUnavailable("an update") { _ = try await store.save(saved, expecting: .initial) }
                await expectUnavailable("a touch") { try await store.touch(saved.key, expiresAt: Date() + 900) }
                await expectUnavailable("a delete") { try await store.delete(saved.key) }
                #expect(try await store.load(saved.key)?.record.data == [1])
            }
        }
    }

    @Test(.enabled(if: !isRoot, "root can write to any file, so the permission check cannot be provoked"))
    func readOnlyDatabaseFileIsRejectedAtStartUp() async throws {
        try await withTemporaryDatabase { database in
            try await using(try await SQLiteStore(path: database.path)) { _ in }
            #expect(chmod(database.path, 0o444) == 0)

            let error = await #expect(throws: SessionConfigurationError.self) {
                try await SQLiteStore(path: database.path)
            }
            #expect(error?.setting == "SQLiteStore.path")
        }
    }

    @Test(.enabled(if: !isRoot, "root can write to any directory, so the permission check cannot be provoked"))
    func unwritableDirectoryIsRejectedAtStartUp() async throws {
        try await withTemporaryDatabase { database in
            #expect(chmod(database.directory, 0o555) == 0)

            let error = await #expect(throws: SessionConfigurationError.self) {
                try await SQLiteStore(path: database.path)
            }
            #expect(error?.setting == "SQLiteStore.path")
            #expect(error?.reason.contains("-wal") == true)
        }
    }

    @Test func closedStoreFailsWithUnavailable() async throws {
        try await withTemporaryDatabase { database in
            let store = try await SQLiteStore(path: database.path)
            let saved = record([1])
            _ = try await store.save(saved, expecting: nil)
            try await store.close()
            try await store.close()

            await expectUnavailable("a load after close") { _ = try await store.load(saved.key) }
            await expectUnavailable("a save after close") { _ = try await store.save(saved, expecting: .initial) }
            await expectUnavailable("a touch after close") { try await store.touch(saved.key, expiresAt: Date() + 60) }
            await expectUnavailable("a delete after close") { try await store.delete(saved.key) }
            await expectUnavailable("a sweep after close") { try await store.sweepExpired() }
        }
    }

    @Test func callsInFlightWhenTheStoreClosesCompleteOrFailWithUnavailable() async throws {
        try await withTemporaryDatabase { database in
            let store = try await SQLiteStore(path: database.path)
            let outcomes = await withTaskGroup(of: String.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        do {
                            _ = try await store.save(record([1]), expecting: nil)
                            return "saved"
                        } catch let error as SessionStoreError where error.code == .unavailable {
                            return "unavailable"
                        } catch {
                            return "unexpected: \(error)"
                        }
                    }
                }
                group.addTask {
                    do {
                        try await store.close()
                        return "closed"
                    } catch {
                        return "unexpected: \(error)"
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0.hasPrefix("unexpected") }.isEmpty, "\(outcomes)")
            #expect(outcomes.contains("closed"))
        }
    }
}

// MARK: - Configuration

extension SQLiteStoreFailureTests {
    @Suite struct ConfigurationTests {
        static let badTableNames = [
            "", "1sessions", "session-data", "session data", "sessions\"; DROP TABLE users; --", "sessions;",
            "sqlite_sessions", "SQLITE_master", "sessionkit_schema", "séances", String(repeating: "a", count: 65),
        ]

        @Test(arguments: badTableNames)
        func badTableNameIsRejected(_ tableName: String) async throws {
            try await withTemporaryDatabase { database in
                let error = await #expect(throws: SessionConfigurationError.self) {
                    try await SQLiteStore(path: database.path, configuration: .init(tableName: tableName))
                }
                #expect(error?.setting == "SQLiteStore.tableName")
                #expect(!FileManager.default.fileExists(atPath: database.path), "a refused configuration created the file")
            }
        }

        @Test(arguments: ["a", "_", "Sessions_2", String(repeating: "a", count: 64)])
        func plainIdentifierIsAcceptedAsTableName(_ tableName: String) async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path, configuration: .init(tableName: tableName))) { store in
                    let result = try await store.save(record([1]), expecting: nil)
                    #expect(result == .saved(.initial))
                }
            }
        }

        @Test func directoryAsPathIsRejected() async throws {
            try await withTemporaryDatabase { database in
                for path in [database.directory, database.directory + "/"] {
                    let error = await #expect(throws: SessionConfigurationError.self) {
                        try await SQLiteStore(path: path)
                    }
                    #expect(error?.setting == "SQLiteStore.path")
                    #expect(error?.reason.contains("directory") == true)
                }
            }
        }

        @Test(arguments: ["", ":memory:"])
        func emptyOrInMemoryPathIsRejected(_ path: String) async throws {
            let error = await #expect(throws: SessionConfigurationError.self) {
                try await SQLiteStore(path: path)
            }
            #expect(error?.setting == "SQLiteStore.path")
        }

        @Test func pathInAMissingDirectoryIsRejected() async throws {
            try await withTemporaryDatabase { database in
                let error = await #expect(throws: SessionConfigurationError.self) {
                    try await SQLiteStore(path: database.directory + "/missing/sessions.sqlite")
                }
                #expect(error?.setting == "SQLiteStore.path")
                #expect(error?.reason.contains("does not exist") == true)
            }
        }

        @Test func fileThatIsNotADatabaseIsRejected() async throws {
            try await withTemporaryDatabase { database in
                let garbage = Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
                #expect(FileManager.default.createFile(atPath: database.path, contents: garbage))

                let error = await #expect(throws: SessionConfigurationError.self) {
                    try await SQLiteStore(path: database.path)
                }
                #expect(error?.setting == "SQLiteStore.path")
                let contents = try Data(contentsOf: URL(fileURLWithPath: database.path))
                #expect(contents == garbage, "the store changed a foreign file")
            }
        }

        @Test func relativePathIsResolvedAgainstTheCurrentDirectory() async throws {
            try await withTemporaryDatabase { database in
                let previous = FileManager.default.currentDirectoryPath
                #expect(FileManager.default.changeCurrentDirectoryPath(database.directory))
                defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
                let store = try await SQLiteStore(path: "relative.sqlite")
                try await using(store) { store in
                    #expect(store.path.hasPrefix("/"))
                    #expect(store.path.hasSuffix("/relative.sqlite"))
                }
            }
        }

        @Test func existingTableWithOtherColumnsIsRejected() async throws {
            try await withTemporaryDatabase { database in
                try await withRawConnection(database.path) { connection in
                    _ = try await connection.query("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
                }
                let error = await #expect(throws: SessionConfigurationError.self) {
                    try await SQLiteStore(path: database.path, configuration: .init(tableName: "users"))
                }
                #expect(error?.setting == "SQLiteStore.tableName")
            }
        }

        @Test func tableFromANewerSchemaIsRejected() async throws {
            try await withTemporaryDatabase { database in
                try await using(try await SQLiteStore(path: database.path)) { _ in }
                try await withRawConnection(database.path) { connection in
                    _ = try await connection.query("UPDATE sessionkit_schema SET version = version + 1")
                }
                let error = await #expect(throws: SessionConfigurationError.self) {
                    try await SQLiteStore(path: database.path)
                }
                #expect(error?.setting == "SQLiteStore.tableName")
                #expect(error?.reason.contains("newer") == true)
            }
        }

        @Test func nonPositiveSweepIntervalIsRejected() async throws {
            try await withTemporaryDatabase { database in
                for interval in [Duration.zero, .seconds(-1)] {
                    let error = await #expect(throws: SessionConfigurationError.self) {
                        try await SQLiteStore(path: database.path, configuration: .init(sweepInterval: interval))
                    }
                    #expect(error?.setting == "SQLiteStore.sweepInterval")
                }
            }
        }

        @Test func outOfRangeBusyTimeoutIsRejected() async throws {
            try await withTemporaryDatabase { database in
                for timeout in [Duration.milliseconds(-1), .seconds(30 * 24 * 3600)] {
                    let error = await #expect(throws: SessionConfigurationError.self) {
                        try await SQLiteStore(path: database.path, configuration: .init(busyTimeout: timeout))
                    }
                    #expect(error?.setting == "SQLiteStore.busyTimeout")
                }
            }
        }
    }
}
#endif  // SQLite
