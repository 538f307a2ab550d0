import Foundation
import Logging
import SessionKit
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

    @Test func serverDownFailsAsUnavailableWithinTheTimeout() async throws {
        let port = try await FakeRedisServer.closedPort()
        let store = try RedisStore(configuration: .init(port: port, commandTimeout: .seconds(1), connectTimeout: .seconds(1)), logger: quietLogger)
        let clock = ContinuousClock()
        let start = clock.now

        let error = await #expect(throws: SessionStoreError.self) { try await store.load(SessionToken.generate().key) }

        #expect(clock.now - start < .seconds(1))
        #expect(error?.code == .unavailable)
        #expect(error?.storeName == "redis")
        #expect(error?.message == "cannot connect to Redis at 127.0.0.1:\(port)")
        #expect(error?.cause != nil)
    }

    @Test func callsWhileTheServerIsDownFailFast() async throws {
        let port = try await FakeRedisServer.closedPort()
        let store = try RedisStore(configuration: .init(port: port), logger: quietLogger)
        let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 60)
        let clock = ContinuousClock()
        let start = clock.now
        for _ in 0..<100 {
            await #expect(throws: SessionStoreError.self) { try await store.save(record, expecting: nil) }
        }
        // Within the backoff, calls fail at once instead of each trying to connect.
        #expect(clock.now - start < .seconds(2))
    }

    @Test func silentServerTimesOutWithinTheCommandTimeout() async throws {
        let server = try await FakeRedisServer.start(reply: nil)
        let store = try RedisStore(configuration: .init(port: server.port, commandTimeout: .milliseconds(200)), logger: quietLogger)
        let clock = ContinuousClock()
        let start = clock.now

        let error = await #expect(throws: SessionStoreError.self) { try await store.load(SessionToken.generate().key) }

        let elapsed = clock.now - start
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(2), "took \(elapsed)")
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
