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
