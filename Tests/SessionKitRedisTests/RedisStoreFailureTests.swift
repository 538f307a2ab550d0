#if Redis
import Foundation
import Logging
import NIOCore
import NIOPosix
import SessionKit
import Synchronization
import Testing

@testable import SessionKitRedis

/// The Redis store when the server is missing or broken; no real server needed.
@Suite struct RedisStoreFailureTests {
    /// These tests fail to connect on purpose; the store's warnings about it are noise here.
    private let quietLogger: Logger = {
        var logger = Logger(label: "sessionkit.redis.test")
        logger.logLevel = .critical
        return logger
    }()

    /// Garbage under a session key (a field missing or not a number, another
    /// type) is no session and one warning, never an error; a missing or an
    /// expired record is no session and logs nothing.
    @Test func unreadableRecordIsNoSessionAndOneWarning() throws {
        let logs = LogLines()
        let store = try RedisStore(configuration: .init(port: 1), logger: logs.logger)
        let key = SessionToken.generate().key
        func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }
        let unreadable: [RESPValue] = [
            .array([bulk("{}"), .null, bulk("2000"), .null]),
            .array([bulk("{}"), bulk("one"), bulk("2000"), .null]),
            .array([bulk("{}"), bulk("1"), .null, .null]),
            .array([.null, bulk("1"), bulk("2000"), .null]),
            .error("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ]
        for (index, reply) in unreadable.enumerated() {
            #expect(try store.storedSession(key, from: reply, now: 1_000) == nil)
            #expect(logs.warnings.count == index + 1, "\(reply)")
        }
        #expect(logs.warnings.allSatisfy { $0.message == "Ignoring an unreadable session record" })
        #expect(try store.storedSession(key, from: .array([.null, .null, .null, .null]), now: 1_000) == nil)
        #expect(try store.storedSession(key, from: .array([bulk("{}"), bulk("1"), bulk("999"), .null]), now: 1_000) == nil)
        #expect(logs.lines.count == unreadable.count)
    }

    @Test func serverDownFailsAsUnavailableNotAfterTheTimeout() async throws {
        let port = try await FakeRedisServer.closedPort()
        // Timeouts far longer than any test: a refused connect must fail as such, at
        // once, not wait for them (which would fail as timedOut, and time the test out).
        let store = try RedisStore(
            configuration: .init(port: port, commandTimeout: .seconds(600), connectTimeout: .seconds(600)),
            logger: quietLogger
        )

        let error = await #expect(throws: SessionStoreError.self) { try await store.load(SessionToken.generate().key) }

        #expect(error?.code == .unavailable)
        #expect(error?.storeName == "redis")
        #expect(error?.message == "cannot connect to Redis at 127.0.0.1:\(port)")
        #expect(error?.cause != nil)
    }

    @Test func callsWithinTheBackoffFailWithoutConnecting() async throws {
        let port = try await FakeRedisServer.closedPort()
        let pool = RedisConnectionPool(
            options: .init(
                connection: .init(
                    connectTimeout: .seconds(600),
                    commandTimeout: .seconds(600),
                    handshake: [],
                    limits: .standard
                ),
                maximumConnections: 8,
                // Longer than the test can take, so every call after the first falls in it.
                initialBackoff: .seconds(600)
            ),
            addresses: FixedRedisAddress(endpoint: .init(host: "127.0.0.1", port: port)),
            group: MultiThreadedEventLoopGroup.singleton,
            logger: quietLogger
        )
        for _ in 0..<100 {
            await #expect(throws: RedisConnectionPool.PoolError.self) { _ = try await pool.lease() }
        }
        // One connect was tried; the other 99 calls failed with its error instead of each trying.
        #expect(pool.connectAttempts == 1)
        await pool.shutdown()
    }

    @Test func theStoreRetriesAConnectOnlyAfterTheBackoff() async throws {
        let port = try await FakeRedisServer.closedPort()
        let store = try RedisStore(configuration: .init(port: port), logger: quietLogger)
        let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 60)
        for _ in 0..<100 {
            await #expect(throws: SessionStoreError.self) { try await store.save(record, expecting: nil) }
        }
        // The backoff starts at 50 ms and doubles; 100 calls that each connected would be 100 attempts.
        #expect(store.pool.connectAttempts < 100)
    }

    @Test func silentServerTimesOutWithinTheCommandTimeout() async throws {
        let server = try await FakeRedisServer.start(reply: nil)
        let store = try RedisStore(configuration: .init(port: server.port, commandTimeout: .milliseconds(200)), logger: quietLogger)
        let clock = ContinuousClock()
        let start = clock.now

        let error = await #expect(throws: SessionStoreError.self) { try await store.load(SessionToken.generate().key) }

        let elapsed = clock.now - start
        // A silent server would keep the caller forever; room for a loaded machine above.
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(5), "took \(elapsed)")
        #expect(error?.code == .timedOut)
        #expect(error?.message.contains("127.0.0.1:\(server.port)") == true)
        try await server.stop()
    }

    @Test func malformedReplyFailsAsUnavailable() async throws {
        let server = try await FakeRedisServer.start(reply: "!not resp\r\n")
        let store = try RedisStore(configuration: .init(port: server.port), logger: quietLogger)
        let error = await #expect(throws: SessionStoreError.self) { try await store.load(SessionToken.generate().key) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("malformed reply") == true)
        try await server.stop()
    }

    @Test func outOfMemoryReplyNamesMaxmemory() async throws {
        let server = try await FakeRedisServer.start(
            reply: "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
        )
        let store = try RedisStore(configuration: .init(port: server.port), logger: quietLogger)
        let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 60)
        let error = await #expect(throws: SessionStoreError.self) { try await store.save(record, expecting: nil) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.hasPrefix("Redis is out of memory (maxmemory)") == true)
        #expect(error?.description.contains(record.key.hex) == false, "the error names the session key")
        try await server.stop()
    }

    @Test func refusedHandshakeFailsAsUnavailable() async throws {
        let server = try await FakeRedisServer.start(reply: "-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        let store = try RedisStore(configuration: .init(port: server.port, password: "hunter2"), logger: quietLogger)
        let error = await #expect(throws: SessionStoreError.self) { try await store.load(SessionToken.generate().key) }
        #expect(error?.code == .unavailable)
        #expect(error?.description.contains("Redis refused AUTH: WRONGPASS") == true, "\(String(describing: error))")
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test func oversizedDataIsRefusedBeforeItIsSent() async throws {
        let port = try await FakeRedisServer.closedPort()
        let store = try RedisStore(configuration: .init(port: port), logger: quietLogger)
        let record = SessionRecord(
            key: SessionToken.generate().key,
            data: [UInt8](repeating: 0, count: RedisStore.maximumDataSize + 1),
            expiresAt: Date() + 60
        )
        let error = await #expect(throws: SessionStoreError.self) { try await store.save(record, expecting: nil) }
        #expect(error?.code == .tooLarge)
    }

    @Test func nonFiniteExpiryIsInvalidData() async throws {
        let port = try await FakeRedisServer.closedPort()
        let store = try RedisStore(configuration: .init(port: port), logger: quietLogger)
        let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date(timeIntervalSince1970: .nan))
        let error = await #expect(throws: SessionStoreError.self) { try await store.save(record, expecting: nil) }
        #expect(error?.code == .invalidData)
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
#endif  // Redis
