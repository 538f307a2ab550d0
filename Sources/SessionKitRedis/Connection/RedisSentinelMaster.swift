#if Redis
import Logging
import NIOCore
import Synchronization

/// The address of the master a group of Redis sentinels watches: what a
/// ``RedisConnectionPool`` connects to under Sentinel.
///
/// The master is looked up when a connection opens and none is known: each
/// sentinel in turn is asked `SENTINEL get-master-addr-by-name`, and the address
/// it names is used only once `ROLE` there answers `master`, so the store never
/// writes to a replica (during a failover the sentinels still name the old
/// master until they switch; a replica, or the old master, is then refused).
/// The store forgets the master (``invalidate()``) when a command to it fails
/// with a connection error, a timeout, or `READONLY`, and the next connection
/// looks again.
///
/// Once a master is known, one connection to a sentinel stays subscribed to
/// `+switch-master`: when the master changes, the new address replaces the old
/// one at once and the pool's connections to the old one are closed
/// (``RedisConnectionPool/reconnect()``). When that sentinel goes away, another
/// one is subscribed to a second later.
final class RedisSentinelMaster: RedisAddressProvider, Sendable {
    let masterName: String
    let sentinels: [RedisStore.Endpoint]
    /// How to connect to a sentinel: its own `AUTH`, no `SELECT`.
    private let sentinelOptions: RESPConnection.Options
    /// How to connect to the master, to check its `ROLE`.
    private let masterOptions: RESPConnection.Options
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var master: RedisStore.Endpoint?
        var lookup: EventLoopFuture<RedisStore.Endpoint>?
        var subscription: (any Channel)?
        var isSubscribing = false
        /// The sentinel to subscribe to next: they take turns when one goes away.
        var nextSentinel = 0
        /// Called with no lock held when the master changes; set once, by the store.
        var onSwitch: (@Sendable () -> Void)?
        var isShutDown = false
    }

    /// No sentinel named a master that answers `ROLE` as one.
    struct NoMasterError: Error, CustomStringConvertible {
        var masterName: String
        /// What each sentinel answered, or why it could not be asked.
        var reasons: [String]

        var description: String {
            "no master named \"\(masterName)\" is known: " + reasons.joined(separator: "; ")
        }
    }

    /// Creates the lookup; nothing connects until the first ``address(on:)``.
    ///
    /// - Parameters:
    ///   - masterName: The name the sentinels know the master by.
    ///   - sentinels: The sentinels' addresses, asked in this order.
    ///   - sentinelOptions: How to connect to a sentinel (timeouts, `AUTH`).
    ///   - masterOptions: How to connect to the master (timeouts, `AUTH`, TLS).
    ///   - group: The event loops the lookups and the subscription run on.
    ///   - logger: Where failovers are logged.
    init(
        masterName: String,
        sentinels: [RedisStore.Endpoint],
        sentinelOptions: RESPConnection.Options,
        masterOptions: RESPConnection.Options,
        group: any EventLoopGroup,
        logger: Logger
    ) {
        self.masterName = masterName
        self.sentinels = sentinels
        self.sentinelOptions = sentinelOptions
        self.masterOptions = masterOptions
        self.group = group
        self.logger = logger
    }

    /// `master "<name>" via Sentinel at host:port,…`, with the master's address once known.
    var description: String {
        let master = state.withLock { $0.master }
        return "master \"\(masterName)\"" + (master.map { " at \($0)" } ?? "")
            + " via Sentinel at \(sentinels.map(\.description).joined(separator: ","))"
    }

    /// The master last found, if any.
    var currentMaster: RedisStore.Endpoint? {
        state.withLock { $0.master }
    }

    /// Sets what to do when the master changes (close the pool's connections).
    func onSwitch(_ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.onSwitch = action }
    }

    func address(on eventLoop: any EventLoop) -> EventLoopFuture<RedisStore.Endpoint> {
        enum Next {
            case known(RedisStore.Endpoint)
            case wait(EventLoopFuture<RedisStore.Endpoint>)
            case lookUp(EventLoopPromise<RedisStore.Endpoint>)
        }
        let next = state.withLock { state -> Next in
            if let master = state.master { return .known(master) }
            if let lookup = state.lookup { return .wait(lookup) }
            let promise = eventLoop.makePromise(of: RedisStore.Endpoint.self)
            state.lookup = promise.futureResult
            return .lookUp(promise)
        }
        switch next {
        case .known(let master):
            return eventLoop.makeSucceededFuture(master)
        case .wait(let lookup):
            return lookup.hop(to: eventLoop)
        case .lookUp(let promise):
            promise.futureResult.whenComplete { result in
                let found = try? result.get()
                self.state.withLock { state in
                    state.lookup = nil
                    if let found { state.master = found }
                }
                if found != nil { self.subscribe() }
            }
            // Bounded: every connect and command in the lookup has its timeout.
            promise.completeWithTask { try await self.lookUp() }
            return promise.futureResult
        }
    }

    /// Forgets the master, so the next connection asks the sentinels again.
    func invalidate() {
        state.withLock { $0.master = nil }
    }

    /// Closes the subscription and stops subscribing again.
    func shutdown() {
        let channel = state.withLock { state in
            state.isShutDown = true
            return state.subscription
        }
        channel?.close(promise: nil)
    }

    // MARK: - Lookup

    private func lookUp() async throws -> RedisStore.Endpoint {
        var reasons: [String] = []
        for sentinel in sentinels {
            do {
                let connection = try await RESPConnection.connect(sentinelOptions, to: sentinel, on: group).get()
                let reply = try await connection.send(
                    RESPCommand("SENTINEL", "get-master-addr-by-name", .string(masterName))
                )
                connection.channel.close(promise: nil)
                guard case .array(let parts) = reply, parts.count == 2,
                    let host = parts[0].string, let port = parts[1].string.flatMap({ Int($0) })
                else {
                    if case .error(let message) = reply {
                        reasons.append("Sentinel at \(sentinel) answered: \(message)")
                    } else {
                        reasons.append("Sentinel at \(sentinel) knows no master of that name")
                    }
                    continue
                }
                let candidate = RedisStore.Endpoint(host: host, port: port)
                if let refusal = try await checkRole(of: candidate) {
                    reasons.append("Sentinel at \(sentinel) named \(candidate), \(refusal)")
                    continue
                }
                return candidate
            } catch {
                reasons.append("Sentinel at \(sentinel): \(describe(error))")
            }
        }
        throw NoMasterError(masterName: masterName, reasons: reasons)
    }

    /// Why a sentinel could not be asked, saying so when TLS is why: the handshake
    /// failed, or no reply came over TLS (a sentinel that does not speak TLS on
    /// that port never answers the handshake).
    private func describe(_ error: any Error) -> String {
        if RedisStore.isTLSFailure(error) { return "the TLS handshake failed: \(error)" }
        if sentinelOptions.tls != nil, let error = error as? RESPConnectionError, error.kind == .timedOut {
            return "no reply over TLS (\(error)); does the sentinel speak TLS on that port?"
        }
        return "\(error)"
    }

    /// `nil` when the server at `candidate` says it is a master, else why not.
    private func checkRole(of candidate: RedisStore.Endpoint) async throws -> String? {
        let connection: RESPConnection
        do {
            connection = try await RESPConnection.connect(masterOptions, to: candidate, on: group).get()
        } catch {
            return "which cannot be reached: \(error)"
        }
        defer { connection.channel.close(promise: nil) }
        let role = try await connection.send(RESPCommand("ROLE"))
        guard case .array(let fields) = role, let name = fields.first?.string else {
            return "which answered ROLE with \(role)"
        }
        return name == "master" ? nil : "which is a \(name), not a master"
    }

    // MARK: - +switch-master

    /// Subscribes to `+switch-master` on one sentinel, unless a subscription is
    /// open or being opened.
    private func subscribe() {
        let sentinel = state.withLock { state -> RedisStore.Endpoint? in
            guard !state.isShutDown, state.subscription == nil, !state.isSubscribing else { return nil }
            state.isSubscribing = true
            defer { state.nextSentinel += 1 }
            return sentinels[state.nextSentinel % sentinels.count]
        }
        guard let sentinel else { return }
        let commands = sentinelOptions.handshake + [RESPCommand("SUBSCRIBE", "+switch-master")]
        let limits = sentinelOptions.limits
        RESPConnection.makeChannel(sentinelOptions, to: sentinel, on: group) { pipeline in
            try pipeline.addHandler(ByteToMessageHandler(RESPValueDecoder(limits: limits)))
            try pipeline.addHandler(SwitchMasterHandler(masterName: self.masterName) { endpoint in
                self.switched(to: endpoint)
            })
        }
        .whenComplete { result in
            switch result {
            case .success(let channel):
                let isKept = self.state.withLock { state in
                    state.isSubscribing = false
                    guard !state.isShutDown else { return false }
                    state.subscription = channel
                    return true
                }
                guard isKept else {
                    channel.close(promise: nil)
                    return
                }
                for command in commands { channel.write(command.encoded, promise: nil) }
                channel.flush()
                channel.closeFuture.whenComplete { _ in
                    self.state.withLock { $0.subscription = nil }
                    self.subscribeLater(on: channel.eventLoop)
                }
            case .failure:
                self.state.withLock { $0.isSubscribing = false }
                self.subscribeLater(on: self.group.next())
            }
        }
    }

    private func subscribeLater(on eventLoop: any EventLoop) {
        guard !state.withLock({ $0.isShutDown }) else { return }
        eventLoop.scheduleTask(in: .seconds(1)) { self.subscribe() }
    }

    /// The master is now at `endpoint` (a `+switch-master` message): use it, and close the pool's connections.
    func switched(to endpoint: RedisStore.Endpoint) {
        let (changed, action) = state.withLock { state -> (Bool, (@Sendable () -> Void)?) in
            guard state.master != endpoint else { return (false, nil) }
            state.master = endpoint
            return (true, state.onSwitch)
        }
        guard changed else { return }
        logger.warning(
            "Redis Sentinel switched the master",
            metadata: [
                "sessionkit.store": "redis",
                "sessionkit.redis.master": "\(masterName)",
                "sessionkit.redis.address": "\(endpoint)",
            ]
        )
        action?()
    }
}

/// Reads a sentinel's pub/sub stream and reports each `+switch-master` of one master.
///
/// The message is `<name> <old-ip> <old-port> <new-ip> <new-port>`. An error
/// reply (a refused `AUTH`) closes the channel; the subscription is tried again
/// on the next sentinel.
private final class SwitchMasterHandler: ChannelInboundHandler {
    typealias InboundIn = RESPValue

    private let masterName: String
    private let onSwitch: @Sendable (RedisStore.Endpoint) -> Void

    init(masterName: String, onSwitch: @escaping @Sendable (RedisStore.Endpoint) -> Void) {
        self.masterName = masterName
        self.onSwitch = onSwitch
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .error:
            context.close(promise: nil)
        case .array(let parts) where parts.count == 3 && parts[0].string == "message":
            let fields = (parts[2].string ?? "").split(separator: " ")
            guard fields.count == 5, fields[0] == masterName, let port = Int(fields[4]) else { return }
            onSwitch(RedisStore.Endpoint(host: String(fields[3]), port: port))
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
#endif  // Redis
