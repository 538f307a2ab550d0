#if Redis
import Logging
import NIOCore
import Synchronization

/// Where a pool's connections go: one fixed server, or one looked up when a
/// connection opens (the master Sentinel names).
protocol RedisAddressProvider: Sendable, CustomStringConvertible {
    /// The address to open the next connection to; a failed future fails the
    /// connect (and starts the pool's backoff).
    func address(on eventLoop: any EventLoop) -> EventLoopFuture<RedisStore.Endpoint>
}

/// One server, always the same.
struct FixedRedisAddress: RedisAddressProvider {
    var endpoint: RedisStore.Endpoint

    /// `host:port`.
    var description: String { endpoint.description }

    func address(on eventLoop: any EventLoop) -> EventLoopFuture<RedisStore.Endpoint> {
        eventLoop.makeSucceededFuture(endpoint)
    }
}

/// A bounded set of pipelining connections to one Redis server.
///
/// The server is whatever its ``RedisAddressProvider`` names when a connection
/// opens; ``reconnect()`` drops the open connections when that changes.
///
/// Because every connection pipelines, a command never queues for a free
/// connection: it goes to the least busy open one, where a connection on the
/// caller's own event loop counts as two commands less busy (it saves the
/// thread hop out and back). The pool opens connections lazily, one at a time,
/// up to its maximum, on the caller's event loop: when there is none, or when
/// none is idle on the caller's loop. Only a caller that finds no open connection waits, for the
/// connection being opened, and that wait is bounded by the connect timeout and
/// the handshake's command timeout.
///
/// A closed connection leaves the pool at once and is replaced on a later call.
/// After a failed connect the pool waits before the next attempt (50 ms, doubling
/// up to 2 s), and while it waits, calls that find no open connection fail at
/// once with the last connect error, so a server that is down is not hammered and
/// callers do not hang.
final class RedisConnectionPool: Sendable {
    struct Options: Sendable {
        /// How each connection is made.
        var connection: RESPConnection.Options
        /// The most connections open at once; at least 1.
        var maximumConnections: Int
        /// The wait after the first failed connect; it doubles with each further failure.
        var initialBackoff: TimeAmount = .milliseconds(50)
        /// The longest wait between connect attempts.
        var maximumBackoff: TimeAmount = .seconds(2)
    }

    /// Why the pool could not hand out a connection.
    struct PoolError: Error, CustomStringConvertible {
        enum Kind: Hashable, Sendable {
            /// Connecting failed, now or within the current backoff.
            case cannotConnect
            /// ``RedisConnectionPool/shutdown()`` was called.
            case shutDown
        }

        var kind: Kind
        /// The connect error, for ``Kind/cannotConnect``.
        var cause: (any Error)?

        var description: String {
            switch kind {
            case .cannotConnect: "cannot connect" + (cause.map { ": \($0)" } ?? "")
            case .shutDown: "the connection pool was shut down"
            }
        }
    }

    let options: Options
    /// Where new connections go.
    let addresses: any RedisAddressProvider
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var connections: [RESPConnection] = []
        /// The connection being opened; at most one at a time.
        var opening: EventLoopFuture<RESPConnection>?
        /// Counts ``RedisConnectionPool/reconnect()`` calls; a connection opened
        /// under an earlier count goes to a server no longer current and is dropped.
        var generation = 0
        var openingGeneration = 0
        var consecutiveFailures = 0
        var retryAt = NIODeadline.uptimeNanoseconds(0)
        var lastFailure: (any Error)?
        var isShutDown = false
        /// Connects started since the pool was made, for tests and diagnostics.
        var connectAttempts = 0
    }

    private enum Decision {
        case use(RESPConnection, alsoOpen: EventLoopPromise<RESPConnection>?)
        case wait(EventLoopFuture<RESPConnection>)
        case open(EventLoopPromise<RESPConnection>)
        case fail(PoolError)
    }

    /// Creates an empty pool; no connection opens until the first command.
    ///
    /// - Parameters:
    ///   - options: How to connect and how many connections to keep.
    ///   - addresses: Where new connections go.
    ///   - group: The event loops the connections run on.
    ///   - logger: Where connection failures and recoveries are logged.
    init(options: Options, addresses: any RedisAddressProvider, group: any EventLoopGroup, logger: Logger) {
        self.options = options
        self.addresses = addresses
        self.group = group
        self.logger = logger
    }

    /// The number of connects the pool has started.
    var connectAttempts: Int {
        state.withLock(\.connectAttempts)
    }

    /// The number of open connections.
    var openConnections: Int {
        state.withLock { state in state.connections.filter(\.isActive).count }
    }

    /// Sends a command on the least busy connection, opening one if needed.
    ///
    /// - Parameter command: The command.
    /// - Returns: The reply; an error reply from Redis is returned, not thrown.
    /// - Throws: ``PoolError`` when no connection can be had, ``RESPConnectionError``
    ///   on a timeout or a closed connection, ``RESPError`` on a malformed reply.
    func send(_ command: RESPCommand) async throws -> RESPValue {
        let connection = try await lease()
        return try await connection.send(command)
    }

    /// Sends commands pipelined on one connection, opening one if needed: one
    /// round trip however many there are.
    ///
    /// - Parameter commands: The commands, in order.
    /// - Returns: Their replies, in the same order; error replies from Redis are
    ///   returned, not thrown.
    /// - Throws: As ``send(_:)``, for the first command that got no reply.
    func send(_ commands: [RESPCommand]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        let connection = try await lease()
        let replies = commands.map { connection.submit($0) }
        var values: [RESPValue] = []
        values.reserveCapacity(replies.count)
        for reply in replies {
            values.append(try await reply.get())
        }
        return values
    }

    /// Returns a connection to send on.
    func lease() async throws(PoolError) -> RESPConnection {
        switch decide() {
        case .use(let connection, let alsoOpen):
            if let alsoOpen { open(alsoOpen) }
            return connection
        case .wait(let opening):
            return try await awaitConnection(opening)
        case .open(let promise):
            open(promise)
            return try await awaitConnection(promise.futureResult)
        case .fail(let error):
            throw error
        }
    }

    /// Closes every connection and refuses further commands; waits until they are closed.
    func shutdown() async {
        let (connections, opening) = beginShutdown()
        if let opening, let connection = try? await opening.get() {
            // `openingFinished` has closed it already, because the pool is shut down.
            try? await connection.channel.closeFuture.get()
        }
        for connection in connections {
            try? await connection.close().get()
        }
    }

    /// Closes every connection and refuses further commands, without waiting.
    func closeAll() {
        let (connections, _) = beginShutdown()
        for connection in connections { connection.channel.close(promise: nil) }
    }

    /// The server may have changed (a Sentinel failover): closes every open
    /// connection, failing the commands on them, and ends the connect backoff, so
    /// the next call connects afresh to the provider's current address. A
    /// connection being opened now is closed as soon as it opens.
    func reconnect() {
        let connections = state.withLock { state in
            defer {
                state.connections = []
                // A connect in flight goes to the server being left: callers from now on
                // open a new one instead of waiting for it, and it is closed when it lands.
                state.opening = nil
                state.retryAt = .uptimeNanoseconds(0)
                state.generation += 1
            }
            return state.connections
        }
        for connection in connections { connection.channel.close(promise: nil) }
    }

    private func beginShutdown() -> ([RESPConnection], EventLoopFuture<RESPConnection>?) {
        state.withLock { state in
            state.isShutDown = true
            defer { state.connections = [] }
            return (state.connections, state.opening)
        }
    }

    private func decide() -> Decision {
        let maximum = options.maximumConnections
        return state.withLock { state -> Decision in
            guard !state.isShutDown else { return .fail(PoolError(kind: .shutDown)) }
            state.connections.removeAll { !$0.isActive }
            // A connection on the caller's own event loop costs no thread hop either
            // way (the write and the reply's wake-up stay on this thread): it wins
            // over one elsewhere that has fewer than two more commands in flight.
            let best = state.connections.min { Self.load(of: $0) < Self.load(of: $1) }
            if let best {
                let isFull = state.connections.count + (state.opening == nil ? 0 : 1) >= maximum
                // Idle and on the caller's loop, or no room for another: use it as it is.
                if Self.load(of: best) == 0 || isFull { return .use(best, alsoOpen: nil) }
            }
            if let opening = state.opening {
                return best.map { .use($0, alsoOpen: nil) } ?? .wait(opening)
            }
            if NIODeadline.now() < state.retryAt {
                return best.map { .use($0, alsoOpen: nil) }
                    ?? .fail(PoolError(kind: .cannotConnect, cause: state.lastFailure))
            }
            // The promise is made under the lock but the connect starts after it,
            // so no future callback can run while the lock is held.
            let promise = loopForNewConnection().makePromise(of: RESPConnection.self)
            state.opening = promise.futureResult
            state.openingGeneration = state.generation
            state.connectAttempts += 1
            return best.map { .use($0, alsoOpen: promise) } ?? .open(promise)
        }
    }

    /// How busy `connection` is for a caller on the current thread: its commands
    /// in flight, plus two when it runs on another event loop.
    private static func load(of connection: RESPConnection) -> Int {
        connection.commandsInFlight + (connection.channel.eventLoop.inEventLoop ? 0 : 2)
    }

    /// The caller's event loop when it runs on one of the pool's, else the group's next.
    private func loopForNewConnection() -> any EventLoop {
        group.makeIterator().first { $0.inEventLoop } ?? group.next()
    }

    private func open(_ promise: EventLoopPromise<RESPConnection>) {
        let future = promise.futureResult
        future.whenComplete { result in
            self.openingFinished(result, of: future)
        }
        // The connection runs on the loop its promise was made on.
        let loop = promise.futureResult.eventLoop
        let connection = self.options.connection
        addresses.address(on: loop)
            .flatMap { endpoint in RESPConnection.connect(connection, to: endpoint, on: loop) }
            .cascade(to: promise)
    }

    private func awaitConnection(_ opening: EventLoopFuture<RESPConnection>) async throws(PoolError) -> RESPConnection {
        do {
            return try await opening.get()
        } catch {
            throw PoolError(kind: .cannotConnect, cause: error)
        }
    }

    private func openingFinished(_ result: Result<RESPConnection, any Error>, of future: EventLoopFuture<RESPConnection>) {
        let address = "\(addresses)"
        switch result {
        case .success(let connection):
            let (isKept, failuresBefore) = state.withLock { state -> (Bool, Int) in
                // `reconnect()` forgets a connect in flight; another may be in flight by now.
                let isCurrent = state.opening === future
                if isCurrent { state.opening = nil }
                guard isCurrent, !state.isShutDown, state.openingGeneration == state.generation else { return (false, 0) }
                let failures = state.consecutiveFailures
                state.connections.append(connection)
                state.consecutiveFailures = 0
                state.lastFailure = nil
                return (true, failures)
            }
            guard isKept else {
                // Shut down, or opened to a server that `reconnect()` has since left.
                connection.channel.close(promise: nil)
                return
            }
            connection.channel.closeFuture.whenComplete { _ in
                self.remove(connection)
            }
            if failuresBefore > 0 {
                logger.info(
                    "connected to Redis again",
                    metadata: ["sessionkit.store": "redis", "sessionkit.redis.address": "\(address)"]
                )
            }
        case .failure(let error):
            let failures = state.withLock { state -> Int? in
                // A failed connect to a server `reconnect()` has left says nothing of the next one.
                guard state.opening === future else { return nil }
                state.opening = nil
                state.consecutiveFailures += 1
                state.retryAt = .now() + backoff(afterFailures: state.consecutiveFailures)
                state.lastFailure = error
                return state.consecutiveFailures
            }
            guard let failures else { return }
            // The first failure of a streak is worth a warning; the retries after it are noise.
            logger.log(
                level: failures == 1 ? .warning : .debug,
                "cannot connect to Redis",
                metadata: [
                    "sessionkit.store": "redis",
                    "sessionkit.redis.address": "\(address)",
                    "sessionkit.reason": "\(error)",
                    "sessionkit.redis.failures": "\(failures)",
                ]
            )
        }
    }

    private func remove(_ connection: RESPConnection) {
        state.withLock { state in
            state.connections.removeAll { $0 === connection }
        }
    }

    private func backoff(afterFailures failures: Int) -> TimeAmount {
        let doublings = min(failures - 1, 16)
        let nanoseconds = options.initialBackoff.nanoseconds << Int64(doublings)
        return .nanoseconds(min(nanoseconds, options.maximumBackoff.nanoseconds))
    }
}
#endif  // Redis
