#if Redis
import Foundation
import SessionKit
import SessionKitConformance
import Testing

@testable import SessionKitRedis

/// The Redis store over TLS, against `redis-server --tls-port` servers whose CA and
/// certificates `start_redis_tls` made (`REDIS_TLS_URL`, `REDIS_TLS_DIR`).
@Suite(.enabled(if: RedisExtraServers.shouldRunTLS, "REDIS_TLS_URL not set; run scripts/test"))
struct RedisTLSTests {
    private func record() -> SessionRecord {
        SessionRecord(key: SessionToken.generate().key, data: [1, 2, 3], expiresAt: Date() + 600)
    }

    /// Saves and loads one record.
    private func roundTrip(_ configuration: RedisStore.Configuration) async throws {
        let store = try RedisStore(configuration: configuration)
        let record = record()
        #expect(try await store.save(record, expecting: nil) == .saved(.initial))
        #expect(try await store.load(record.key)?.record.data == [1, 2, 3])
        await store.shutdown()
    }

    /// The error a save fails with; the test fails when it succeeds.
    private func refusal(_ configuration: RedisStore.Configuration) async throws -> SessionStoreError? {
        let store = try RedisStore(configuration: configuration)
        let error = await #expect(throws: SessionStoreError.self) { try await store.save(record(), expecting: nil) }
        await store.shutdown()
        return error
    }

    @Test(arguments: SessionStoreConformance.checks)
    func redisStoreOverTLSConforms(_ check: SessionStoreConformance.Check) async throws {
        try await check.run { try RedisStore(configuration: try RedisExtraServers.tlsConfiguration()) }
    }

    @Test func storeTrustingTheServersCAFileWorks() async throws {
        try await roundTrip(try RedisExtraServers.tlsConfiguration())
    }

    @Test func storeTrustingTheServersCAAsPEMTextWorks() async throws {
        let pem = try String(contentsOfFile: try RedisExtraServers.tlsFile("ca.crt"), encoding: .utf8)
        try await roundTrip(try RedisExtraServers.tlsConfiguration { $0.tls?.trustRoots = .caPEM(pem) })
    }

    @Test func serverNameMatchingTheCertificateWorks() async throws {
        // The certificate names localhost as well as 127.0.0.1: SNI and the check use the name.
        try await roundTrip(try RedisExtraServers.tlsConfiguration { $0.tls?.serverName = "localhost" })
    }

    @Test func certificateOfAnUnrelatedCAIsRefusedNamingTheStoreAndTheReason() async throws {
        let configuration = try RedisExtraServers.tlsConfiguration {
            $0.tls?.trustRoots = .caFile(try RedisExtraServers.tlsFile("other-ca.crt"))
        }
        let error = try await refusal(configuration)
        #expect(error?.code == .unavailable)
        #expect(error?.storeName == "redis")
        #expect(error?.message.contains("TLS handshake") == true, "\(String(describing: error))")
        #expect(error?.message.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(String(describing: error))")
    }

    @Test func certificateNotTrustedByTheSystemIsRefused() async throws {
        // rediss:// alone trusts the system's CAs, which never signed the test CA.
        let configuration = try RedisExtraServers.tlsConfiguration { $0.tls?.trustRoots = .system }
        let error = try await refusal(configuration)
        #expect(error?.message.contains("TLS handshake") == true, "\(String(describing: error))")
    }

    @Test func certificateForAnotherHostNameIsRefused() async throws {
        // This server's certificate, from the trusted CA, names only redis.example.com, not 127.0.0.1.
        let port = try RedisExtraServers.port(inFile: try RedisExtraServers.tlsFile("named-port"))
        let error = try await refusal(try RedisExtraServers.tlsConfiguration { $0.port = port })
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("TLS handshake") == true, "\(String(describing: error))")
        #expect(error?.message.contains("failedToValidateHostname") == true, "\(String(describing: error))")
    }

    @Test func serverNameSetsTheNameTheCertificateMustHave() async throws {
        let port = try RedisExtraServers.port(inFile: try RedisExtraServers.tlsFile("named-port"))
        try await roundTrip(
            try RedisExtraServers.tlsConfiguration {
                $0.port = port
                $0.tls?.serverName = "redis.example.com"
            }
        )
    }

    @Test func mutualTLSServerAcceptsTheClientCertificate() async throws {
        let port = try RedisExtraServers.port(inFile: try RedisExtraServers.tlsFile("mtls-port"))
        let configuration = try RedisExtraServers.tlsConfiguration {
            $0.port = port
            $0.tls?.certificateFile = try RedisExtraServers.tlsFile("client.crt")
            $0.tls?.privateKeyFile = try RedisExtraServers.tlsFile("client.key")
        }
        try await roundTrip(configuration)
    }

    @Test func mutualTLSServerRefusesAStoreWithoutAClientCertificate() async throws {
        let port = try RedisExtraServers.port(inFile: try RedisExtraServers.tlsFile("mtls-port"))
        let error = try await refusal(try RedisExtraServers.tlsConfiguration { $0.port = port })
        #expect(error?.code == .unavailable)
        #expect(error?.storeName == "redis")
    }

    @Test func tlsStoreNeverFallsBackToPlainTCP() async throws {
        // A plain-TCP Redis: the TLS handshake fails, and nothing is written in clear.
        let url = try #require(RedisTestServer.url, "REDIS_URL is needed too")
        let plain = try RedisStore.Configuration(url: url)
        let error = try await refusal(try RedisExtraServers.tlsConfiguration { $0.port = plain.port })
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("TLS handshake") == true, "\(String(describing: error))")
    }
}
#endif  // Redis
