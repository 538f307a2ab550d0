#if Redis
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One connection to Redis that pipelines commands: many may be in flight at once,
/// and their replies come back in order.
///
/// Every command has a timeout; when one expires, the connection closes and every
/// command still on it fails, because later replies could no longer be matched
/// to their commands. A closed connection stays closed: ``RedisConnectionPool``
/// makes a new one. It is safe to use from many tasks at once: all mutable state
/// lives in the ``RESPCommandHandler`` on the channel's event loop, and the
/// in-flight count is atomic.
final class RESPConnection: Sendable {
    /// The channel the connection runs on.
    let channel: any Channel
    /// How long each command may wait for its reply.
    let commandTimeout: TimeAmount
    private let inFlight = Atomic<Int>(0)

    /// Wraps a channel whose pipeline was set up by ``addHandlers(to:limits:)``.
    ///
    /// - Parameters:
    ///   - channel: The channel, connected or (in tests) embedded.
    ///   - commandTimeout: How long each command may wait for its reply.
    init(channel: any Channel, commandTimeout: TimeAmount) {
        self.channel = channel
        self.commandTimeout = commandTimeout
    }

    /// Adds the RESP decoder and the command handler to a pipeline.
    ///
    /// - Parameters:
    ///   - pipeline: The pipeline of the channel, on its event loop.
    ///   - limits: The bounds the decoder enforces on replies.
    static func addHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations,
        limits: RESPValue.DecodingLimits = .standard
    ) throws {
        try pipeline.addHandler(ByteToMessageHandler(RESPValueDecoder(limits: limits)))
        try pipeline.addHandler(RESPCommandHandler())
    }

    /// Whether the channel is still open.
    var isActive: Bool { channel.isActive }

    /// How many commands are waiting for their replies.
    var commandsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Sends a command.
    ///
    /// - Parameter command: The command.
    /// - Returns: A future for the reply. An error reply from Redis is a successful
    ///   ``RESPValue/error(_:)``; the future fails with ``RESPConnectionError`` on a
    ///   timeout or a closed connection, or with ``RESPError`` on a malformed reply.
    func submit(_ command: RESPCommand) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        inFlight.add(1, ordering: .relaxed)
        promise.futureResult.whenComplete { _ in
            self.inFlight.subtract(1, ordering: .relaxed)
        }
        // A write that never reaches the handler (the pipeline is already torn down)
        // would leave the promise pending for ever; fail it from the write's outcome.
        // If the handler failed it first, NIO ignores the second completion.
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            promise.fail(error is ChannelError ? RESPConnectionError.closed : error)
        }
        channel.writeAndFlush(RESPRequest(command: command, promise: promise, timeout: commandTimeout), promise: written)
        return promise.futureResult
    }

    /// Sends a command and waits for its reply.
    ///
    /// - Parameter command: The command.
    /// - Returns: The reply; an error reply from Redis is returned, not thrown.
    /// - Throws: ``RESPConnectionError`` on a timeout or a closed connection,
    ///   ``RESPError`` on a malformed reply.
    func send(_ command: RESPCommand) async throws -> RESPValue {
        try await submit(command).get()
    }

    /// Closes the connection; commands still waiting fail.
    func close() -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        channel.close(promise: promise)
        // Closing a channel that is already closed fails with `alreadyClosed`: that is success here.
        return promise.futureResult.flatMapErrorThrowing { error in
            guard case ChannelError.alreadyClosed = error else { throw error }
        }
    }
}

extension RESPConnection {
    /// How to connect; the address comes separately, so one set of options serves
    /// every server of a Sentinel group or a cluster.
    struct Options: Sendable {
        var connectTimeout: TimeAmount
        var commandTimeout: TimeAmount
        /// Commands sent before the connection is handed out, for example `AUTH`
        /// and `SELECT`; each must not answer with an error.
        var handshake: [RESPCommand]
        var limits: RESPValue.DecodingLimits = .standard
        /// TLS to wrap the connection in; `nil` for plain TCP.
        var tls: TLSSettings?
    }

    /// A TLS client context and the name to verify the server's certificate
    /// against, made once per store (reading the CA and key files then).
    struct TLSSettings: Sendable {
        var context: NIOSSLContext
        /// The name sent in SNI and checked against the certificate; `nil` checks
        /// the host connected to (its DNS name, or its IP address against the
        /// certificate's IP subject alternative names).
        var serverName: String?

        /// The name to verify for a connection to `host`: ``serverName``, else
        /// `host` when it is a DNS name. SNI cannot carry an IP address, so for one
        /// the handler gets `nil` and verifies the peer's address instead.
        func hostname(connectingTo host: String) -> String? {
            if let serverName { return serverName }
            let isIPAddress = (try? SocketAddress(ipAddress: host, port: 0)) != nil
            return isIPAddress ? nil : host
        }
    }

    /// Opens a channel to `endpoint`: TCP, then TLS when `options.tls` is set,
    /// then the handlers `addHandlers` adds. Used for command connections and for
    /// Sentinel's pub/sub connection.
    static func makeChannel(
        _ options: Options,
        to endpoint: RedisStore.Endpoint,
        on group: any EventLoopGroup,
        addHandlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        let tls = options.tls
        return ClientBootstrap(group: group)
            .connectTimeout(options.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let handler = try NIOSSLClientHandler(
                            context: tls.context,
                            serverHostname: tls.hostname(connectingTo: endpoint.host)
                        )
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try addHandlers(channel.pipeline.syncOperations)
                }
            }
            .connect(host: endpoint.host, port: endpoint.port)
    }

    /// Connects, then runs the handshake commands.
    ///
    /// With TLS and no handshake commands, a `PING` is sent, so that the TLS
    /// handshake (and the certificate check) has finished, or failed, before the
    /// connection is handed out.
    ///
    /// - Parameters:
    ///   - options: How to connect.
    ///   - endpoint: The server's address.
    ///   - group: The event loops to run the connection on.
    /// - Returns: A future for the ready connection. It fails with the connect
    ///   error, a TLS error (`NIOSSLError`, naming a certificate that cannot be
    ///   verified), a ``RESPConnectionError``, or a ``RedisHandshakeError`` when
    ///   Redis refuses a handshake command; the channel is closed then.
    static func connect(
        _ options: Options,
        to endpoint: RedisStore.Endpoint,
        on group: any EventLoopGroup
    ) -> EventLoopFuture<RESPConnection> {
        let limits = options.limits
        let handshake = options.tls != nil && options.handshake.isEmpty ? [RESPCommand("PING")] : options.handshake
        return makeChannel(options, to: endpoint, on: group) { pipeline in
            try addHandlers(to: pipeline, limits: limits)
        }
        .flatMap { channel in
            let connection = RESPConnection(channel: channel, commandTimeout: options.commandTimeout)
            // The handshake commands are pipelined: one round trip however many there are.
            let replies = handshake.map { connection.submit($0) }
            return EventLoopFuture.whenAllComplete(replies, on: channel.eventLoop)
                .flatMapThrowing { results in
                    for (command, result) in zip(handshake, results) {
                        let reply = try result.get()
                        if case .error(let message) = reply {
                            throw RedisHandshakeError(command: command.name, message: message)
                        }
                    }
                    return connection
                }
                .flatMapError { error in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
        }
    }
}
#endif  // Redis
