#if Postgres
import Foundation
import Logging
import PostgresNIO
import SessionKit
import SessionKitPostgres
import Synchronization
import Testing

/// The PostgreSQL store when the server is missing or silent, and its settings;
/// no real server needed.
@Suite struct PostgresStoreFailureTests {
    /// PostgresClient keeps retrying a refused connection for about a minute
    /// before failing its waiters; the store must answer within its own timeout.
    @Test func serverDownFailsWithinTheOperationTimeout() async throws {
        let socket = try LocalTCPSocket(listening: false)
        let client = PostgresClient(configuration: socket.clientConfiguration)
        let store = try PostgresStore(client: client, configuration: .init(operationTimeout: .milliseconds(500)), logger: quietLogger)
        try await withRunningClient(client) {
            let start = ContinuousClock.now
            let error = await #expect(throws: SessionStoreError.self) {
                try await store.load(SessionToken.generate().key)
            }
            let elapsed = ContinuousClock.now - start
            // Without the store's own timer the pool would keep the caller about a minute;
            // the upper bound leaves room for 500 tests starting at once on 2 cores.
            #expect(elapsed >= .milliseconds(500) && elapsed < .seconds(5), "took \(elapsed)")
            #expect(error?.code == .timedOut)
            #expect(error?.storeName == "postgres")
            #expect(error?.message.contains("no PostgreSQL connection within") == true)
        }
    }

    @Test func everyOperationFailsWhileTheServerIsDown() async throws {
        let socket = try LocalTCPSocket(listening: false)
        let client = PostgresClient(configuration: socket.clientConfiguration)
        let store = try PostgresStore(
            client: client,
            configuration: .init(operationTimeout: .milliseconds(200), createTableIfMissing: false),
            logger: quietLogger
        )
        let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 60)
        try await withRunningClient(client) {
            let operations: [(String, @Sendable () async throws -> Void)] = [
                ("load", { _ = try await store.load(record.key) }),
                ("create", { _ = try await store.save(record, expecting: nil) }),
                ("update", { _ = try await store.save(record, expecting: .initial) }),
                ("touch", { try await store.touch(record.key, expiresAt: Date() + 60) }),
                ("delete", { try await store.delete(record.key) }),
                ("sweep", { try await store.sweepExpired() }),
                ("sessions(of:)", { _ = try await store.sessions(of: "user") }),
                ("deleteSessions(of:except:)", { try await store.deleteSessions(of: "user", except: nil) }),
            ]
            for (name, operation) in operations {
                let error = await #expect(throws: SessionStoreError.self, "\(name)") { try await operation() }
                #expect([.timedOut, .unavailable].contains(error?.code), "\(name)")
            }
        }
    }

    /// A server that accepts the connection and then never answers: the
    /// handshake cannot complete, and the store still answers in time.
    @Test func silentServerTimesOutWithinTheOperationTimeout() async throws {
        let socket = try LocalTCPSocket(listening: true)
        let client = PostgresClient(configuration: socket.clientConfiguration)
        let store = try PostgresStore(client: client, configuration: .init(operationTimeout: .milliseconds(300)), logger: quietLogger)
        try await withRunningClient(client) {
            let start = ContinuousClock.now
            let error = await #expect(throws: SessionStoreError.self) {
                try await store.save(SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 60), expecting: nil)
            }
            let elapsed = ContinuousClock.now - start
            // A silent server would keep the caller forever; room for a loaded machine above.
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(5), "took \(elapsed)")
            #expect(error?.code == .timedOut)
        }
    }

    @Test func clientThatIsNotRunningTimesOutAndSaysSo() async throws {
        let socket = try LocalTCPSocket(listening: false)
        let client = PostgresClient(configuration: socket.clientConfiguration)
        let store = try PostgresStore(client: client, configuration: .init(operationTimeout: .milliseconds(100)), logger: quietLogger)
        let error = await #expect(throws: SessionStoreError.self) {
            try await store.delete(SessionToken.generate().key)
        }
        #expect(error?.code == .timedOut)
        #expect(error?.message.contains("run()") == true)
    }

    @Test func cancellingAWaitingOperationEndsItPromptly() async throws {
        let socket = try LocalTCPSocket(listening: true)
        let client = PostgresClient(configuration: socket.clientConfiguration)
        let store = try PostgresStore(client: client, configuration: .init(operationTimeout: .seconds(30)), logger: quietLogger)
        try await withRunningClient(client) {
            let start = ContinuousClock.now
            let operation = Task { try await store.load(SessionToken.generate().key) }
            operation.cancel()
            await #expect(throws: CancellationError.self) { try await operation.value }
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test func invalidExpiryIsInvalidData() async throws {
        let socket = try LocalTCPSocket(listening: false)
        let store = try PostgresStore(client: PostgresClient(configuration: socket.clientConfiguration), logger: quietLogger)
        for expiresAt in [Date(timeIntervalSinceReferenceDate: .nan), Date(timeIntervalSinceReferenceDate: 1e15)] {
            let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: expiresAt)
            let error = await #expect(throws: SessionStoreError.self) { try await store.save(record, expecting: nil) }
            #expect(error?.code == .invalidData)
        }
    }

    @Test(arguments: [
        ("", "PostgresStore.table"),
        ("1sessions", "PostgresStore.table"),
        ("sessions; DROP TABLE users", "PostgresStore.table"),
        ("ses\"sions", "PostgresStore.table"),
        ("séssions", "PostgresStore.table"),
        (String(repeating: "t", count: 49), "PostgresStore.table"),
    ])
    func badTableNameIsRefused(_ table: String, _ setting: String) throws {
        let error = #expect(throws: SessionConfigurationError.self) {
            try PostgresStore(client: Self.unusedClient, configuration: .init(table: table))
        }
        #expect(error?.setting == setting)
    }

    @Test(arguments: ["", "my-schema", "public.x", String(repeating: "s", count: 64)])
    func badSchemaNameIsRefused(_ schema: String) throws {
        let error = #expect(throws: SessionConfigurationError.self) {
            try PostgresStore(client: Self.unusedClient, configuration: .init(schema: schema))
        }
        #expect(error?.setting == "PostgresStore.schema")
    }

    @Test func goodNamesAreAccepted() throws {
        let table = String(repeating: "t", count: 48)
        let store = try PostgresStore(client: Self.unusedClient, configuration: .init(schema: "App_1", table: table))
        #expect(store.configuration.table == table)
        #expect(store.name == "postgres")
    }

    @Test func nonPositiveDurationsAreRefused() throws {
        let sweep = #expect(throws: SessionConfigurationError.self) {
            try PostgresStore(client: Self.unusedClient, configuration: .init(sweepInterval: .zero))
        }
        #expect(sweep?.setting == "PostgresStore.sweepInterval")
        let timeout = #expect(throws: SessionConfigurationError.self) {
            try PostgresStore(client: Self.unusedClient, configuration: .init(operationTimeout: .seconds(-1)))
        }
        #expect(timeout?.setting == "PostgresStore.operationTimeout")
    }

    /// A client that is never run; creating a store sends nothing.
    private static let unusedClient = PostgresClient(
        configuration: .init(host: "127.0.0.1", port: 1, username: "nobody", password: nil, database: nil, tls: .disable)
    )
}

/// A row the store cannot read, on a real server.
@Suite(.enabled(if: PostgresTestServer.shouldRun, "DATABASE_URL not set; run scripts/test"))
struct PostgresStoreUnreadableRowTests {
    /// A negative version (the store never writes one) is no session and one warning, never an error.
    @Test func rowWithANegativeVersionIsNoSessionAndOneWarning() async throws {
        let logs = LogLines()
        let client = try PostgresTestServer.client()
        let configuration = PostgresStore.Configuration(table: PostgresTestServer.uniqueTable(), operationTimeout: .seconds(10))
        let store = try PostgresStore(client: client, configuration: configuration, logger: logs.logger)
        do {
            let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 600)
            _ = try await store.save(record, expecting: nil)
            let table = "\"public\".\"\(configuration.table)\""
            try await client.query("UPDATE \(unescaped: table) SET version = -1")
            let before = logs.warnings.count

            #expect(try await store.load(record.key) == nil)

            #expect(logs.warnings.count == before + 1)
            #expect(logs.warnings.last?.message == "Ignoring an unreadable session row")
        } catch {
            try? await PostgresTestServer.dropTable(of: configuration, client: client)
            throw error
        }
        try await PostgresTestServer.dropTable(of: configuration, client: client)
    }
}

/// Keeps the level and message of every log event, so a test can count the lines a call logs.
private final class LogLines: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
    }

    private let storage = Mutex<[Line]>([])

    var lines: [Line] { storage.withLock { $0 } }

    /// The lines at `warning` or above: what an operator sees at the default levels.
    var warnings: [Line] { lines.filter { $0.level >= .warning } }

    var logger: Logger {
        var logger = Logger(label: "sessionkit.tests") { _ in Handler(lines: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let lines: LogLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.storage.withLock { $0.append(Line(level: event.level, message: event.message.description)) }
        }
    }
}
#endif  // Postgres
