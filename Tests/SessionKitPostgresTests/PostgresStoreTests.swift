#if Postgres
import Foundation
import PostgresNIO
import SessionKit
import SessionKitConformance
import SessionKitPostgres
import Testing

/// The PostgreSQL store against a real server (`DATABASE_URL`), each test on a
/// table of its own.
@Suite(.enabled(if: PostgresTestServer.shouldRun, "DATABASE_URL not set; run scripts/test"))
struct PostgresStoreTests {
    @Test(arguments: SessionStoreConformance.checks)
    func postgresStoreConforms(_ check: SessionStoreConformance.Check) async throws {
        try await PostgresTestServer.withStore { store in
            try await check.run { store }
        }
    }

    @Test func tableAndIndexAreCreatedIfMissing() async throws {
        try await PostgresTestServer.withStore { store in
            let client = try PostgresTestServer.client()
            let table = "public.\(store.configuration.table)"
            #expect(try await Self.exists(table, client: client) == false)

            try await store.prepare()

            #expect(try await Self.exists(table, client: client))
            var columns: [String: String] = [:]
            let rows = try await client.query(
                """
                SELECT column_name, data_type FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = \(store.configuration.table)
                """
            )
            for try await (name, type) in rows.decode((String, String).self) { columns[name] = type }
            #expect(
                columns == [
                    "id": "text", "data": "bytea", "version": "bigint", "created_at": "timestamp with time zone",
                    "expires_at": "timestamp with time zone", "owner": "text",
                ]
            )
            let indexes = try await client.query(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = \(store.configuration.table)"
            )
            var definitions: [String] = []
            for try await definition in indexes.decode(String.self) { definitions.append(definition) }
            #expect(definitions.contains { $0.hasSuffix("USING btree (expires_at)") }, "indexes: \(definitions)")
            #expect(definitions.contains { $0.hasSuffix("USING btree (owner, id) WHERE (owner IS NOT NULL)") }, "indexes: \(definitions)")
        }
    }

    @Test func firstOperationCreatesTheTable() async throws {
        try await PostgresTestServer.withStore { store in
            let loaded = try await store.load(SessionToken.generate().key)
            #expect(loaded == nil)
            #expect(try await Self.exists("public.\(store.configuration.table)", client: PostgresTestServer.client()))
        }
    }

    @Test func concurrentPreparesOfOneTableAllSucceed() async throws {
        try await PostgresTestServer.withStore { store in
            let client = try PostgresTestServer.client()
            let configuration = store.configuration
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        // Separate stores, as separate app servers starting at once would have.
                        try await PostgresStore(client: client, configuration: configuration).prepare()
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await Self.exists("public.\(configuration.table)", client: client))
        }
    }

    @Test func missingTableIsAnErrorWhenCreationIsOff() async throws {
        try await PostgresTestServer.withStore(configure: { $0.createTableIfMissing = false }) { store in
            let error = await #expect(throws: SessionStoreError.self) {
                try await store.load(SessionToken.generate().key)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.storeName == "postgres")
            #expect(error?.message.contains("42P01") == true)
            #expect(error?.message.contains("migration") == true)
            #expect(error?.cause is PSQLError)
        }
    }

    @Test func expiryFollowsTheStoreClockNotTheDatabaseClock() async throws {
        let clock = ManualClock()  // 2023, long before the database server's now()
        try await PostgresTestServer.withStore(clock: clock) { store in
            let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: clock.now() + 60)
            #expect(try await store.save(record, expecting: nil) == .saved(.initial))
            #expect(try await store.load(record.key)?.version == .initial)

            clock.advance(by: .seconds(61))

            #expect(try await store.load(record.key) == nil)
            try await store.touch(record.key, expiresAt: clock.now() + 600)
            #expect(try await store.load(record.key) == nil)
            #expect(try await store.save(record, expecting: .initial) == .conflict)
            let fresh = SessionRecord(key: record.key, data: [2], expiresAt: clock.now() + 60)
            #expect(try await store.save(fresh, expecting: nil) == .saved(SessionVersion(2)))
            #expect(try await store.load(record.key)?.record.data == [2])
        }
    }

    @Test func sweepRemovesOnlyExpiredRows() async throws {
        let clock = ManualClock()
        try await PostgresTestServer.withStore(clock: clock) { store in
            var live: [SessionKey] = []
            for index in 0..<5 {
                let key = SessionToken.generate().key
                let expiresAt = clock.now() + (index < 3 ? 60 : 3_600)
                _ = try await store.save(SessionRecord(key: key, data: [UInt8(index)], expiresAt: expiresAt), expecting: nil)
                if index >= 3 { live.append(key) }
            }
            clock.advance(by: .seconds(60))

            #expect(try await store.sweepExpired() == 3)

            #expect(try await PostgresTestServer.rowCount(store.configuration) == 2)
            for key in live {
                #expect(try await store.load(key) != nil)
            }
            #expect(try await store.sweepExpired() == 0)
        }
    }

    @Test func sweepDeletesABacklogLargerThanOneBatch() async throws {
        try await PostgresTestServer.withStore { store in
            try await store.prepare()
            let table = "\"public\".\"\(store.configuration.table)\""
            try await PostgresTestServer.client().query(
                """
                INSERT INTO \(unescaped: table) (id, data, version, expires_at)
                SELECT md5(n::text) || md5(n::text), '\\x00', 1, now() - interval '1 minute'
                FROM generate_series(1, 2500) AS n
                """
            )
            let live = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 600)
            _ = try await store.save(live, expecting: nil)

            #expect(try await store.sweepExpired() == 2_500)

            #expect(try await PostgresTestServer.rowCount(store.configuration) == 1)
        }
    }

    @Test func runSweepsPeriodicallyAndReturnsWhenCancelled() async throws {
        try await PostgresTestServer.withStore(configure: { $0.sweepInterval = .milliseconds(50) }) { store in
            let expired = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() - 5)
            _ = try await store.save(expired, expecting: nil)
            #expect(try await PostgresTestServer.rowCount(store.configuration) == 1)

            let sweeper = Task { try await store.run() }
            let deadline = ContinuousClock.now + .seconds(10)
            while try await PostgresTestServer.rowCount(store.configuration) > 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try await PostgresTestServer.rowCount(store.configuration) == 0)

            sweeper.cancel()
            try await sweeper.value
        }
    }

    /// A statement waiting on a lock stands for any query the server does not
    /// answer: the store gives up after its timeout, closes that connection, and
    /// keeps working on others. (A load, because a write that timed out may still
    /// be applied once the lock is released.)
    @Test func queryStuckOnALockTimesOutAndTheStoreRecovers() async throws {
        try await PostgresTestServer.withStore { store in
            let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 600)
            guard case .saved(let version) = try await store.save(record, expecting: nil) else {
                Issue.record("the create did not save")
                return
            }
            var configuration = store.configuration
            configuration.operationTimeout = .milliseconds(300)
            // The table exists already: the impatient store only runs the load, so its
            // 300 ms are not spent on preparing while the rest of the suite loads the server.
            configuration.createTableIfMissing = false
            let impatient = try PostgresStore(client: PostgresTestServer.client(), configuration: configuration)
            let table = "\"public\".\"\(configuration.table)\""
            try await PostgresTestServer.client().withConnection { locker in
                try await locker.query("BEGIN", logger: quietLogger)
                try await locker.query("LOCK TABLE \(unescaped: table) IN ACCESS EXCLUSIVE MODE", logger: quietLogger)

                let start = ContinuousClock.now
                let error = await #expect(throws: SessionStoreError.self) {
                    try await impatient.load(record.key)
                }
                let elapsed = ContinuousClock.now - start
                #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(30), "took \(elapsed)")
                #expect(error?.code == .timedOut)
                #expect(error?.storeName == "postgres")
                #expect(error?.message.contains("did not answer") == true)

                try await locker.query("ROLLBACK", logger: quietLogger)
            }
            #expect(try await store.load(record.key)?.version == version)
            var updated = record
            updated.data = [2]
            #expect(try await store.save(updated, expecting: version) == .saved(version.next))
        }
    }

    @Test func ownerIsStoredLoadedAndMovedWithTheRecord() async throws {
        try await PostgresTestServer.withStore { store in
            let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 600, owner: "user-1")
            guard case .saved(let version) = try await store.save(record, expecting: nil) else {
                Issue.record("the create did not save")
                return
            }
            #expect(try await store.load(record.key)?.record.owner == "user-1")
            var anonymous = record
            anonymous.owner = nil
            _ = try await store.save(anonymous, expecting: version)
            #expect(try await store.load(record.key)?.record.owner == nil)
            #expect(try await store.sessions(of: "user-1").isEmpty)
        }
    }

    @Test func rowsAreKeptUnderTheHashedKey() async throws {
        try await PostgresTestServer.withStore { store in
            let token = SessionToken.generate()
            let record = SessionRecord(key: token.key, data: [0, 0xFF, 0x5C, 0x27], expiresAt: Date() + 600)
            _ = try await store.save(record, expecting: nil)
            let table = "\"public\".\"\(store.configuration.table)\""
            let rows = try await PostgresTestServer.client().query("SELECT id, data FROM \(unescaped: table)")
            var stored: [(String, ByteBuffer)] = []
            for try await row in rows.decode((String, ByteBuffer).self) { stored.append(row) }
            #expect(stored.count == 1)
            #expect(stored.first?.0 == token.key.hex)
            #expect(stored.first?.0 != token.cookieValue)
            #expect(stored.first.map { Array($0.1.readableBytesView) } == record.data)
        }
    }

    private static func exists(_ table: String, client: PostgresClient) async throws -> Bool {
        let rows = try await client.query("SELECT to_regclass(\(table)) IS NOT NULL")
        var found = false
        for try await value in rows.decode(Bool.self) { found = value }
        return found
    }
}
#endif  // Postgres
