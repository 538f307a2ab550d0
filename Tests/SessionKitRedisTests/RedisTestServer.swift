#if Redis
import Foundation
import NIOCore
import NIOPosix
import SessionKit

@testable import SessionKitRedis

/// The Redis server the integration tests use, from `REDIS_URL`.
///
/// When `SESSIONKIT_TEST_SERVERS_REQUIRED=1` (set by `scripts/test`) and
/// `REDIS_URL` is missing, the tests run anyway and fail with ``MissingServer``
/// instead of being skipped.
enum RedisTestServer {
    static let url: String? = ProcessInfo.processInfo.environment["REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let isRequired = ProcessInfo.processInfo.environment["SESSIONKIT_TEST_SERVERS_REQUIRED"] == "1"
    /// Whether the server tests run: a server is configured, or one is required and must be reported missing.
    static let shouldRun = url != nil || isRequired

    struct MissingServer: Error, CustomStringConvertible {
        var description: String {
            "REDIS_URL is not set but SESSIONKIT_TEST_SERVERS_REQUIRED=1: start Redis and export REDIS_URL "
                + "(scripts/test does both), or unset SESSIONKIT_TEST_SERVERS_REQUIRED to skip the Redis tests"
        }
    }

    /// The server's configuration with a key prefix no other test uses.
    static func configuration() throws -> RedisStore.Configuration {
        guard let url else { throw MissingServer() }
        var configuration = try RedisStore.Configuration(url: url)
        configuration.keyPrefix = "sessionkit-test:\(UUID().uuidString):"
        return configuration
    }
}

/// The TLS Redis servers and the Sentinel groups the TLS and Sentinel tests use,
/// from `REDIS_TLS_URL`, `REDIS_TLS_DIR`, `REDIS_SENTINEL_URL`,
/// `REDIS_SENTINEL_DIR`, `REDIS_SENTINEL_TLS_URL` and `REDIS_SENTINEL_TLS_DIR` (set
/// by `scripts/test` from `start_redis_tls` and `start_redis_sentinel` in
/// scripts/lib/servers.sh). Missing ones fail the tests
/// when `SESSIONKIT_TEST_SERVERS_REQUIRED=1`, like ``RedisTestServer``.
enum RedisExtraServers {
    private static func variable(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    static let tlsURL = variable("REDIS_TLS_URL")
    static let tlsDirectory = variable("REDIS_TLS_DIR")
    static let sentinelURL = variable("REDIS_SENTINEL_URL")
    static let sentinelDirectory = variable("REDIS_SENTINEL_DIR")

    static let shouldRunTLS = (tlsURL != nil && tlsDirectory != nil) || RedisTestServer.isRequired
    static let shouldRunSentinel = (sentinelURL != nil && sentinelDirectory != nil) || RedisTestServer.isRequired
    static let sentinelTLSURL = variable("REDIS_SENTINEL_TLS_URL")
    static let sentinelTLSDirectory = variable("REDIS_SENTINEL_TLS_DIR")
    static let shouldRunSentinelTLS =
        (sentinelTLSURL != nil && sentinelTLSDirectory != nil && tlsDirectory != nil) || RedisTestServer.isRequired

    struct MissingServer: Error, CustomStringConvertible {
        var variables: String
        var description: String {
            "\(variables) not set but SESSIONKIT_TEST_SERVERS_REQUIRED=1: start them with scripts/lib/servers.sh "
                + "(scripts/test does), or unset SESSIONKIT_TEST_SERVERS_REQUIRED to skip these tests"
        }
    }

    /// A file `start_redis_tls` wrote, for example `ca.crt`.
    static func tlsFile(_ name: String) throws -> String {
        guard let tlsDirectory, tlsURL != nil else { throw MissingServer(variables: "REDIS_TLS_URL and REDIS_TLS_DIR") }
        return "\(tlsDirectory)/\(name)"
    }

    /// A port number `start_redis_tls` or `start_redis_sentinel` wrote to a file.
    static func port(inFile path: String) throws -> Int {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = Int(text) else { throw MissingServer(variables: "a port in \(path)") }
        return port
    }

    /// The configuration `url` names (`variables` say where it comes from),
    /// trusting the test CA when `trustsTestCA`, under a fresh key prefix; `change` adjusts it.
    private static func configuration(
        _ url: String?,
        variables: String,
        trustsTestCA: Bool,
        _ change: (inout RedisStore.Configuration) throws -> Void
    ) throws -> RedisStore.Configuration {
        guard let url else { throw MissingServer(variables: variables) }
        var configuration = try RedisStore.Configuration(url: url)
        if trustsTestCA { configuration.tls?.trustRoots = .caFile(try tlsFile("ca.crt")) }
        configuration.keyPrefix = "sessionkit-test:\(UUID().uuidString):"
        try change(&configuration)
        return configuration
    }

    /// The TLS server that takes but does not need a client certificate, trusting
    /// the test CA, under a fresh key prefix; `change` adjusts it.
    static func tlsConfiguration(_ change: (inout RedisStore.Configuration) throws -> Void = { _ in }) throws -> RedisStore.Configuration {
        try configuration(tlsURL, variables: "REDIS_TLS_URL and REDIS_TLS_DIR", trustsTestCA: true, change)
    }

    /// The TLS Sentinel group's master (`rediss-sentinel://`), trusting the test
    /// CA, under a fresh key prefix; `change` adjusts it.
    static func sentinelTLSConfiguration(_ change: (inout RedisStore.Configuration) throws -> Void = { _ in }) throws -> RedisStore.Configuration {
        let url = sentinelTLSDirectory == nil ? nil : sentinelTLSURL
        return try configuration(url, variables: "REDIS_SENTINEL_TLS_URL and REDIS_SENTINEL_TLS_DIR", trustsTestCA: true, change)
    }

    /// The Sentinel group's master, under a fresh key prefix.
    static func sentinelConfiguration(_ change: (inout RedisStore.Configuration) throws -> Void = { _ in }) throws -> RedisStore.Configuration {
        let url = sentinelDirectory == nil ? nil : sentinelURL
        return try configuration(url, variables: "REDIS_SENTINEL_URL and REDIS_SENTINEL_DIR", trustsTestCA: false, change)
    }
}

extension RedisStore {
    /// A store on the test server under a fresh key prefix, so tests never see
    /// each other's keys (and never need `FLUSHALL`).
    static func forTesting(
        clock: any SessionClock = SystemSessionClock(),
        configure: (inout Configuration) -> Void = { _ in }
    ) throws -> RedisStore {
        var configuration = try RedisTestServer.configuration()
        configure(&configuration)
        return try RedisStore(configuration: configuration, clock: clock)
    }
}

/// A TCP server on 127.0.0.1 that plays a broken Redis: it answers every read
/// with fixed bytes, or never answers at all.
final class FakeRedisServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Starts a server that writes `reply` (or nothing, when `nil`) for every read.
    static func start(reply: String?) async throws -> FakeRedisServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Responder(reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return FakeRedisServer(channel: channel)
    }

    func stop() async throws {
        try await channel.close()
    }

    /// A port on 127.0.0.1 where nothing listens: bound, then released.
    static func closedPort() async throws -> Int {
        let server = try await start(reply: nil)
        let port = server.port
        try await server.stop()
        return port
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let reply: String?

        init(reply: String?) {
            self.reply = reply
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let reply else { return }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: reply)), promise: nil)
        }
    }
}
#endif  // Redis
