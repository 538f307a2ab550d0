#if Redis
import NIOCore
import NIOPosix
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
    /// Where and how to connect.
    struct Options: Sendable {
        var host: String
        var port: Int
        var connectTimeout: TimeAmount
        var commandTimeout: TimeAmount
        /// Commands sent before the connection is handed out, for example `AUTH`
        /// and `SELECT`; each must not answer with an error.
        var handshake: [RESPCommand]
        var limits: RESPValue.DecodingLimits = .standard
    }

    /// Connects, then runs the handshake commands.
    ///
    /// - Parameters:
    ///   - options: Where and how to connect.
    ///   - group: The event loops to run the connection on.
    /// - Returns: A future for the ready connection. It fails with the connect
    ///   error, a ``RESPConnectionError``, or a ``RedisHandshakeError`` when Redis
    ///   refuses a handshake command; the channel is closed then.
    static func connect(_ options: Options, on group: any EventLoopGroup) -> EventLoopFuture<RESPConnection> {
        let limits = options.limits
        return ClientBootstrap(group: group)
            .connectTimeout(options.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try addHandlers(to: channel.pipeline.syncOperations, limits: limits)
                }
            }
            .connect(host: options.host, port: options.port)
            .flatMap { channel in
                let connection = RESPConnection(channel: channel, commandTimeout: options.commandTimeout)
                // The handshake commands are pipelined: one round trip however many there are.
                let replies = options.handshake.map { connection.submit($0) }
                return EventLoopFuture.whenAllComplete(replies, on: channel.eventLoop)
                    .flatMapThrowing { results in
                        for (command, result) in zip(options.handshake, results) {
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
