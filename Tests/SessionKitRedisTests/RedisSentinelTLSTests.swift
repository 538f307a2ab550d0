#if Redis
import Foundation
import SessionKit
import Testing

@testable import SessionKitRedis

/// The Redis store under Sentinel over TLS (`rediss-sentinel://`), against the
/// master, replica and three sentinels `start_redis_sentinel DIR tls` runs, all on
/// TLS only with the test CA's certificates (`REDIS_SENTINEL_TLS_URL`,
/// `REDIS_SENTINEL_TLS_DIR`). Serialized: one test fails the master over, and the
/// others must not run meanwhile.
@Suite(.serialized, .enabled(if: RedisExtraServers.shouldRunSentinelTLS, "REDIS_SENTINEL_TLS_URL not set; run scripts/test"))
struct RedisSentinelTLSTests {
    private func record() -> SessionRecord {
        SessionRecord(key: SessionToken.generate().key, data: [7, 8, 9], expiresAt: Date() + 600)
    }

    /// The sentinels' addresses, from the configuration.
    private func sentinels() throws -> [RedisStore.Endpoint] {
        guard case .sentinel(_, let sentinels) = try RedisExtraServers.sentinelTLSConfiguration().topology else {
            throw TestFailure("REDIS_SENTINEL_TLS_URL is not a rediss-sentinel:// URL")
        }
        return sentinels
    }

    /// A connection of its own to one sentinel over TLS, for `SENTINEL` commands.
    private func sentinel(_ endpoint: RedisStore.Endpoint) throws -> RedisStore {
        var configuration = RedisStore.Configuration(host: endpoint.host, port: endpoint.port)
        configuration.tls = RedisStore.TLS(trustRoots: .caFile(try RedisExtraServers.tlsFile("ca.crt")))
        return try RedisStore(configuration: configuration)
    }

    /// The master the sentinels name now.
    private func masterTheSentinelsName() async throws -> RedisStore.Endpoint {
        let admin = try sentinel(try sentinels()[0])
        defer { Task { await admin.shutdown() } }
        let reply = try await admin.send(RESPCommand("SENTINEL", "get-master-addr-by-name", "sessionkit"))
        guard case .array(let fields) = reply, fields.count == 2, let host = fields[0].string,
            let port = fields[1].string.flatMap({ Int($0) })
        else { throw TestFailure("SENTINEL get-master-addr-by-name answered \(reply)") }
        return .init(host: host, port: port)
    }

    @Test func storeFindsTheMasterThroughTheSentinelsOverTLS() async throws {
        let configuration = try RedisExtraServers.sentinelTLSConfiguration()
        #expect(configuration.tls != nil)
        let store = try RedisStore(configuration: configuration)
        let record = record()
        #expect(try await store.save(record, expecting: nil) == .saved(.initial))
        #expect(try await store.load(record.key)?.record.data == [7, 8, 9])
        let role = try await store.send(RESPCommand("ROLE"))
        guard case .array(let fields) = role else { throw TestFailure("ROLE answered \(role)") }
        #expect(fields.first?.string == "master")
        #expect(store.sentinel?.currentMaster == (try await masterTheSentinelsName()))
        await store.shutdown()
    }

    @Test func sentinelWhoseCertificateIsNotTrustedIsUnavailableNamingTheReason() async throws {
        let store = try RedisStore(
            configuration: try RedisExtraServers.sentinelTLSConfiguration {
                $0.tls?.trustRoots = .caFile(try RedisExtraServers.tlsFile("other-ca.crt"))
            }
        )
        let error = await #expect(throws: SessionStoreError.self) { try await store.save(record(), expecting: nil) }
        #expect(error?.code == .unavailable)
        #expect(error?.storeName == "redis")
        #expect(String(describing: error).contains("CERTIFICATE_VERIFY_FAILED"), "\(String(describing: error))")
        await store.shutdown()
    }

    @Test func tlsSentinelStoreNeverFallsBackToPlainTCP() async throws {
        // The plain Sentinel group: the TLS handshake fails at every sentinel, and nothing is sent in clear.
        let plain = try RedisExtraServers.sentinelConfiguration()
        let store = try RedisStore(
            configuration: try RedisExtraServers.sentinelTLSConfiguration { $0.topology = plain.topology }
        )
        let error = await #expect(throws: SessionStoreError.self) { try await store.save(record(), expecting: nil) }
        #expect(error?.code == .unavailable)
        #expect(String(describing: error).contains("does the sentinel speak TLS on that port?"), "\(String(describing: error))")
        await store.shutdown()
    }

    @Test func storeFollowsAFailoverOverTLSAndKeepsItsSessions() async throws {
        let store = try RedisStore(configuration: try RedisExtraServers.sentinelTLSConfiguration { $0.minimumReplicaAcknowledgements = 1 })
        let record = record()
        #expect(try await store.save(record, expecting: nil) == .saved(.initial))
        let before = try #require(store.sentinel?.currentMaster)

        // A failover the sentinels run now (as after the master's loss), announced by +switch-master.
        let admin = try sentinel(try sentinels()[0])
        #expect(try await admin.send(RESPCommand("SENTINEL", "FAILOVER", "sessionkit")).string == "OK")
        await admin.shutdown()

        // +switch-master tells the store, with no call of its own to find out.
        let deadline = ContinuousClock.now + .seconds(30)
        while store.sentinel?.currentMaster == before || store.sentinel?.currentMaster == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let after = try #require(store.sentinel?.currentMaster, "no master known 30 s after the failover")
        #expect(after != before, "no +switch-master within 30 s")
        #expect(after == (try await masterTheSentinelsName()))

        // The store writes to the new master, which has the session saved before. A write
        // fails (503) until the old master has rejoined as the replica WAIT asks for.
        var saved = false
        while !saved, ContinuousClock.now < deadline {
            if let loaded = try? await store.load(record.key) {
                #expect(loaded.record.data == [7, 8, 9])
                saved = (try? await store.save(record, expecting: loaded.version)).map { $0 != .conflict } ?? false
            }
            if !saved { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(saved, "no write succeeded on the new master within 30 s")
        #expect(store.sentinel?.currentMaster == after)
        let role = try await store.send(RESPCommand("ROLE"))
        guard case .array(let fields) = role else { throw TestFailure("ROLE answered \(role)") }
        #expect(fields.first?.string == "master")
        await store.shutdown()
    }
}
#endif  // Redis
