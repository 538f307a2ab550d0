#if Postgres
import Foundation
import Logging
import PostgresNIO
import SessionKit
import SessionKitPostgres

#if canImport(Darwin)
    import Darwin
#elseif canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL server the integration tests use, from `DATABASE_URL`.
///
/// When `SESSIONKIT_TEST_SERVERS_REQUIRED=1` (set by `scripts/test`) and
/// `DATABASE_URL` is missing, the tests run anyway and fail with ``MissingServer``
/// instead of being skipped.
enum PostgresTestServer {
    static let url: String? = ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isRequired = ProcessInfo.processInfo.environment["SESSIONKIT_TEST_SERVERS_REQUIRED"] == "1"
    /// Whether the server tests run: a server is configured, or one is required and must be reported missing.
    static let shouldRun = url != nil || isRequired

    struct MissingServer: Error, CustomStringConvertible {
        var description: String {
            "DATABASE_URL is not set but SESSIONKIT_TEST_SERVERS_REQUIRED=1: start PostgreSQL and export DATABASE_URL "
                + "(scripts/test does both), or unset SESSIONKIT_TEST_SERVERS_REQUIRED to skip the PostgreSQL tests"
        }
    }

    /// One pool shared by every test in the process.
    ///
    /// Tests run in parallel, and a pool per test would open more connections
    /// than PostgreSQL's default limit of 100. Its 60 connections let the 50
    /// tasks of the conformance suite's concurrent-increment check each hold one:
    /// with fewer, waiting for a connection between a load and a save widens
    /// every compare-and-swap window and the engine runs out of retries. The
    /// pool's `run()` must be running for the whole process, so it runs in a
    /// detached task that ends with it.
    private static let sharedClient: Result<PostgresClient, any Error> = {
        guard let url else { return .failure(MissingServer()) }
        do {
            var configuration = try PostgresStore.clientConfiguration(url: url)
            configuration.options.maximumConnections = 60
            let client = PostgresClient(configuration: configuration)
            Task.detached { await client.run() }
            return .success(client)
        } catch {
            return .failure(error)
        }
    }()

    /// The shared client, or ``MissingServer`` when no server is configured.
    static func client() throws -> PostgresClient {
        try sharedClient.get()
    }

    /// A table name no other test uses: `sessionkit_test_` and 16 random hexadecimal digits.
    static func uniqueTable() -> String {
        "sessionkit_test_" + String(UInt64.random(in: .min ... .max), radix: 16).leftPadded(to: 16)
    }

    /// Runs `body` with a store on a table of its own, then drops that table.
    ///
    /// The store's operation timeout is 10 seconds, not the default 2, so that
    /// a busy machine running every test at once does not time out the
    /// concurrency checks; the timeout tests set their own.
    static func withStore<Result>(
        clock: any SessionClock = SystemSessionClock(),
        configure: (inout PostgresStore.Configuration) -> Void = { _ in },
        _ body: (PostgresStore) async throws -> Result
    ) async throws -> Result {
        let client = try client()
        var configuration = PostgresStore.Configuration(table: uniqueTable(), operationTimeout: .seconds(10))
        configure(&configuration)
        let store = try PostgresStore(client: client, configuration: configuration, clock: clock)
        do {
            let result = try await body(store)
            try await dropTable(of: configuration, client: client)
            return result
        } catch {
            try? await dropTable(of: configuration, client: client)
            throw error
        }
    }

    /// Drops the test's own table, and only that one.
    static func dropTable(of configuration: PostgresStore.Configuration, client: PostgresClient) async throws {
        precondition(configuration.table.hasPrefix("sessionkit_test_"), "tests drop only their own tables")
        try await client.query("DROP TABLE IF EXISTS \(unescaped: "\"\(configuration.schema)\".\"\(configuration.table)\"")")
    }

    /// The number of rows in a store's table, expired or not.
    static func rowCount(_ configuration: PostgresStore.Configuration) async throws -> Int {
        let rows = try await client().query(
            "SELECT count(*) FROM \(unescaped: "\"\(configuration.schema)\".\"\(configuration.table)\"")"
        )
        var count: Int64 = -1
        for try await value in rows.decode(Int64.self) { count = value }
        return Int(count)
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}

/// A TCP socket on 127.0.0.1 with a port the system chose, for servers that
/// misbehave: bound only, nothing accepts connections and the port refuses
/// them; listening, connections complete but nobody ever answers.
final class LocalTCPSocket: Sendable {
    let port: Int
    private let descriptor: Int32

    struct SocketError: Error, CustomStringConvertible {
        var call: String
        var code = errno
        var description: String { "\(call) failed: errno \(code)" }
    }

    init(listening: Bool) throws {
        #if canImport(Darwin)
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #else
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #endif
        guard descriptor >= 0 else { throw SocketError(call: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw SocketError(call: "bind")
        }
        if listening {
            guard listen(descriptor, 16) == 0 else {
                close(descriptor)
                throw SocketError(call: "listen")
            }
        }
        var boundAddress = sockaddr_in()
        var boundLength = length
        let named = withUnsafeMutablePointer(to: &boundAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &boundLength) }
        }
        guard named == 0 else {
            close(descriptor)
            throw SocketError(call: "getsockname")
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: boundAddress.sin_port))
    }

    deinit {
        close(descriptor)
    }

    /// A client configuration for this socket, without TLS.
    var clientConfiguration: PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: "127.0.0.1",
            port: port,
            username: "postgres",
            password: nil,
            database: nil,
            tls: .disable
        )
        configuration.options.connectTimeout = .seconds(1)
        return configuration
    }
}

/// Runs `body` while `client` runs, then stops the client.
func withRunningClient<Result: Sendable>(
    _ client: PostgresClient,
    _ body: @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask {
            await client.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// A logger that drops everything below critical, for tests that fail on purpose.
let quietLogger: Logger = {
    var logger = Logger(label: "sessionkit.postgres.test")
    logger.logLevel = .critical
    return logger
}()
#endif  // Postgres
