#if Redis
import Foundation
import SessionKit
import SessionKitConformance
import Testing

@testable import SessionKitRedis

/// The Redis store under Sentinel, against the master, replica and three
/// sentinels `start_redis_sentinel` runs (`REDIS_SENTINEL_URL`, `REDIS_SENTINEL_DIR`).
/// These tests never fail the master over (Tests/integration/test_sentinel_failover.py does).
@Suite(.enabled(if: RedisExtraServers.shouldRunSentinel, "REDIS_SENTINEL_URL not set; run scripts/test"))
struct RedisSentinelTests {
    private func record() -> SessionRecord {
        SessionRecord(key: SessionToken.generate().key, data: [4, 5, 6], expiresAt: Date() + 600)
    }

    private func replica() throws -> RedisStore.Endpoint {
        let directory = try #require(RedisExtraServers.sentinelDirectory)
        return .init(host: "127.0.0.1", port: try RedisExtraServers.port(inFile: "\(directory)/replica-port"))
    }

    @Test(arguments: SessionStoreConformance.checks)
    func redisStoreUnderSentinelConforms(_ check: SessionStoreConformance.Check) async throws {
        try await check.run { try RedisStore(configuration: try RedisExtraServers.sentinelConfiguration()) }
    }

    @Test func storeFindsTheMasterThroughTheSentinels() async throws {
        let store = try RedisStore(configuration: try RedisExtraServers.sentinelConfiguration())
        let record = record()
        #expect(try await store.save(record, expecting: nil) == .saved(.initial))
        #expect(try await store.load(record.key)?.record.data == [4, 5, 6])
        let role = try await store.send(RESPCommand("ROLE"))
        guard case .array(let fields) = role else {
            Issue.record("ROLE answered \(role)")
            return
        }
        #expect(fields.first?.string == "master")
        #expect(store.sentinel?.currentMaster != nil)
        #expect(store.sentinel?.currentMaster != (try replica()))
        await store.shutdown()
    }

    @Test func unreachableFirstSentinelIsSkipped() async throws {
        let closed = try await FakeRedisServer.closedPort()
        let store = try RedisStore(
            configuration: try RedisExtraServers.sentinelConfiguration {
                guard case .sentinel(let name, let sentinels) = $0.topology else { return }
                $0.topology = .sentinel(masterName: name, sentinels: [.init(host: "127.0.0.1", port: closed)] + sentinels)
            }
        )
        #expect(try await store.save(record(), expecting: nil) == .saved(.initial))
        await store.shutdown()
    }

    @Test func writeThatMeetsAReplicaAnswersReadOnlyThenGoesToTheMaster() async throws {
        let store = try RedisStore(configuration: try RedisExtraServers.sentinelConfiguration())
        let record = record()
        #expect(try await store.save(record, expecting: nil) == .saved(.initial))
        // As if a +switch-master had named the replica (or the master had been demoted).
        store.sentinel?.switched(to: try replica())
        let error = await #expect(throws: SessionStoreError.self) {
            try await store.save(record, expecting: .initial)
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("READONLY") == true, "\(String(describing: error))")
        // READONLY made the store forget the replica: the next call asks the sentinels again.
        #expect(try await store.save(record, expecting: .initial) == .saved(SessionVersion.initial.next))
        #expect(store.sentinel?.currentMaster != (try replica()))
        await store.shutdown()
    }

    @Test func unknownMasterNameIsUnavailableNamingIt() async throws {
        let store = try RedisStore(
            configuration: try RedisExtraServers.sentinelConfiguration {
                guard case .sentinel(_, let sentinels) = $0.topology else { return }
                $0.topology = .sentinel(masterName: "no-such-master", sentinels: sentinels)
            }
        )
        let error = await #expect(throws: SessionStoreError.self) { try await store.load(record().key) }
        #expect(error?.code == .unavailable)
        #expect(error?.storeName == "redis")
        #expect("\(String(describing: error))".contains("no master named \"no-such-master\""))
        await store.shutdown()
    }

    @Test func writeWaitsForTheReplica() async throws {
        let store = try RedisStore(configuration: try RedisExtraServers.sentinelConfiguration { $0.minimumReplicaAcknowledgements = 1 })
        let record = record()
        #expect(try await store.save(record, expecting: nil) == .saved(.initial))
        try await store.touch(record.key, expiresAt: Date() + 900)
        try await store.delete(record.key)
        await store.shutdown()
    }

    @Test func writeThatTooFewReplicasAcknowledgeIsUnavailable() async throws {
        // The group has one replica; two are asked for.
        let store = try RedisStore(
            configuration: try RedisExtraServers.sentinelConfiguration {
                $0.minimumReplicaAcknowledgements = 2
                $0.replicaAcknowledgementTimeout = .milliseconds(50)
            }
        )
        let error = await #expect(throws: SessionStoreError.self) { try await store.save(record(), expecting: nil) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("only 1 of the 2 replicas") == true, "\(String(describing: error))")
        await store.shutdown()
    }
}
#endif  // Redis
