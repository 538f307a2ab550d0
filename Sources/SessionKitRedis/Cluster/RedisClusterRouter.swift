#if Redis
import Logging
import NIOCore
import Synchronization

/// Sends each command to the Redis Cluster master that serves its key's slot.
///
/// The slot map (slot → master) comes from `CLUSTER SLOTS`, asked of the known
/// masters and then the seed nodes, the first that answers; it is read on first
/// use and again, one refresh at a time, after a `MOVED`, a `CLUSTERDOWN`, or a
/// node that cannot be reached or drops a connection. Each master gets its own
/// ``RedisConnectionPool``, created when a command first goes to it.
///
/// - `MOVED <slot> <host:port>`: the slot has a new owner; the map entry is
///   updated at once, a refresh is started, and the command is sent again to the
///   new owner.
/// - `ASK <slot> <host:port>`: the slot is being migrated and this key already
///   lives on the target; the command is sent once to the target after `ASKING`
///   (pipelined, one round trip), without changing the map.
/// - `TRYAGAIN` (a multi-key command during a migration) and `CLUSTERDOWN`: the
///   command is sent again after a short wait, refreshing the map after `CLUSTERDOWN`.
/// - A node that cannot be connected to (the command was never sent): the map
///   is refreshed and the command sent again after a short wait. A connection
///   that closes or times out with the command in flight is not retried (the
///   command may have run); the map is refreshed and the error thrown.
///
/// A durable send (every write the store makes) pipelines `WAIT 1` after the
/// command when the master had a replica connected at its last count (`ROLE`,
/// read with the map and again when older than ``replicaCountLifetime``), and
/// fails unless a replica confirmed it, or the master turns out to have none
/// left: Redis replicates asynchronously, so without it a master killed right
/// after answering could take an acknowledged write with it.
///
/// Retries stop after ``maximumAttempts`` sends or once the command timeout has
/// passed since the first, whichever comes first; the last error reply is
/// returned, or the last failure thrown.
final class RedisClusterRouter: RedisRouter {
    typealias Endpoint = RedisStore.Endpoint

    /// The number of hash slots of every Redis Cluster.
    static let slotCount = 16_384
    /// The most sends of one command, redirections and retries included.
    static let maximumAttempts = 16

    private let seeds: [Endpoint]
    private let makePool: @Sendable (Endpoint) -> RedisConnectionPool
    private let retryWindow: Duration
    private let requiredAcknowledgements: Int
    private let acknowledgementTimeout: Duration
    /// `WAIT <n> <timeout>` (n is 1 unless more are required): sent after a write
    /// on the same connection, it answers once n replicas have every write sent before it.
    private let waitCommand: RESPCommand
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        /// For each slot, an index into `masters`, or -1 when no master is known.
        var slots = [Int](repeating: -1, count: RedisClusterRouter.slotCount)
        var masters: [Endpoint] = []
        /// How many replicas each master had connected (`ROLE`), and when that was read.
        var replicas: [Endpoint: (count: Int, checked: ContinuousClock.Instant)] = [:]
        /// Masters whose replicas are being counted.
        var countingReplicas: Set<Endpoint> = []
        var pools: [Endpoint: RedisConnectionPool] = [:]
        var refresh: Task<Void, any Error>?
        var isShutDown = false
    }

    /// Creates a router; nothing is connected until the first command.
    ///
    /// - Parameters:
    ///   - seeds: Nodes to ask for the slot map; at least one.
    ///   - retryWindow: How long a command may be retried after its first send.
    ///   - requiredAcknowledgements: How many replicas must confirm a durable
    ///     send (``RedisStore/Configuration/minimumReplicaAcknowledgements``); 0
    ///     waits for one when the master has one connected.
    ///   - acknowledgementTimeout: How long `WAIT` waits; shorter than the command timeout.
    ///   - logger: Where map changes and node failures are logged.
    ///   - makePool: Makes the pool for a node.
    init(
        seeds: [Endpoint],
        retryWindow: Duration,
        requiredAcknowledgements: Int = 0,
        acknowledgementTimeout: Duration,
        logger: Logger,
        makePool: @escaping @Sendable (Endpoint) -> RedisConnectionPool
    ) {
        self.seeds = seeds
        self.retryWindow = retryWindow
        self.requiredAcknowledgements = requiredAcknowledgements
        self.acknowledgementTimeout = acknowledgementTimeout
        self.waitCommand = ReplicaAcknowledgement.command(replicas: max(1, requiredAcknowledgements), timeout: acknowledgementTimeout)
        self.logger = logger
        self.makePool = makePool
    }

    // MARK: - Slots

    /// The hash slot of a key: CRC16 (XMODEM) of the key, or of its hash tag
    /// (the text between the first `{` and the next `}`, when not empty), modulo 16384.
    static func slot(of key: some Collection<UInt8>) -> Int {
        let bytes = Array(key)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
            let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
            close > open + 1
        {
            return Int(crc16(bytes[(open + 1)..<close]) % UInt16(slotCount))
        }
        return Int(crc16(bytes) % UInt16(slotCount))
    }

    /// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, as Redis Cluster uses.
    static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }

    /// The master currently mapped to `slot`, if any.
    func master(forSlot slot: Int) -> Endpoint? {
        state.withLock { state in
            let index = state.slots[slot]
            return index >= 0 ? state.masters[index] : nil
        }
    }

    // MARK: - Sending

    func send(_ command: RESPCommand, durable: Bool) async throws -> RESPValue {
        let slot = command.routingKey.map { Self.slot(of: $0) }
        let deadline = ContinuousClock.now + retryWindow
        var askTarget: Endpoint?
        var attempt = 0
        while true {
            attempt += 1
            let canRetry = attempt < Self.maximumAttempts && ContinuousClock.now < deadline
            let endpoint: Endpoint
            if let askTarget {
                endpoint = askTarget
            } else {
                endpoint = try await self.endpoint(forSlot: slot)
            }
            let pool = try self.pool(for: endpoint)
            let reply: RESPValue
            var confirmation: RESPValue?
            do {
                var batch = [command]
                if askTarget != nil { batch.insert(RESPCommand("ASKING"), at: 0) }
                let waits = durable && hasReplica(endpoint)
                if waits { batch.append(waitCommand) }
                let replies = try await pool.send(batch)
                reply = replies[askTarget != nil ? 1 : 0]
                if waits { confirmation = replies.last }
            } catch {
                if let poolError = error as? RedisConnectionPool.PoolError, poolError.kind == .shutDown {
                    throw RedisNodeError(address: endpoint.description, underlying: error)
                }
                // The node may have failed over: learn the new map before anyone else tries it.
                logger.debug("Redis Cluster node failed", metadata: ["redis.node": "\(endpoint)", "redis.error": "\(error)"])
                try? await refreshMap()
                let neverSent = (error as? RedisConnectionPool.PoolError)?.kind == .cannotConnect
                if neverSent && canRetry {
                    askTarget = nil
                    try await pause(attempt)
                    continue
                }
                throw RedisNodeError(address: endpoint.description, underlying: error)
            }
            guard case .error(let message) = reply, canRetry else {
                if let confirmation, reply.errorMessage == nil { try await confirm(confirmation, by: endpoint) }
                return reply
            }
            if message.hasPrefix("MOVED ") {
                if let (movedSlot, target) = Self.redirect(message) {
                    learn(slot: movedSlot, servedBy: target)
                }
                refreshInBackground()
                askTarget = nil
                continue
            }
            if message.hasPrefix("ASK "), askTarget == nil, let (_, target) = Self.redirect(message) {
                askTarget = target
                continue
            }
            if message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN") {
                askTarget = nil
                try await pause(attempt)
                if message.hasPrefix("CLUSTERDOWN") { try? await refreshMap() }
                continue
            }
            return reply
        }
    }

    func send(_ commands: [RESPCommand], durable: Bool) async throws -> [RESPValue] {
        guard commands.count > 1 else { return try await commands.isEmpty ? [] : [send(commands[0], durable: durable)] }
        // Group by master, pipeline each group, then send redirected ones again one by one.
        var groups: [Endpoint: [Int]] = [:]
        for (index, command) in commands.enumerated() {
            let endpoint = try await endpoint(forSlot: command.routingKey.map { Self.slot(of: $0) })
            groups[endpoint, default: []].append(index)
        }
        var replies = [RESPValue?](repeating: nil, count: commands.count)
        try await withThrowingTaskGroup(of: [(Int, RESPValue?)].self) { group in
            for (endpoint, indices) in groups {
                group.addTask {
                    let waits = durable && self.hasReplica(endpoint)
                    guard let pool = try? self.pool(for: endpoint),
                        let values = try? await pool.send(indices.map { commands[$0] } + (waits ? [self.waitCommand] : []))
                    else {
                        return indices.map { ($0, nil) }
                    }
                    if waits, let confirmation = values.last {
                        try await self.confirm(confirmation, by: endpoint)
                    }
                    return Array(zip(indices, values.prefix(indices.count).map { Optional($0) }))
                }
            }
            for try await results in group {
                for (index, value) in results { replies[index] = value }
            }
        }
        var values: [RESPValue] = []
        values.reserveCapacity(commands.count)
        for (index, reply) in replies.enumerated() {
            if let reply, !Self.needsResend(reply) {
                values.append(reply)
            } else {
                values.append(try await send(commands[index], durable: durable))
            }
        }
        return values
    }


    /// How long a count of a master's replicas is trusted before it is read again (in the background).
    static let replicaCountLifetime: Duration = .seconds(5)

    /// Whether `endpoint` had a replica connected when last counted; a master not
    /// counted yet is taken to have one. A stale count is refreshed in the background.
    private func hasReplica(_ endpoint: Endpoint) -> Bool {
        // A required number of acknowledgements is waited for whatever the count.
        if requiredAcknowledgements > 0 { return true }
        let (known, stale) = state.withLock { state -> (Int?, Bool) in
            guard let entry = state.replicas[endpoint] else { return (nil, true) }
            return (entry.count, ContinuousClock.now - entry.checked > Self.replicaCountLifetime)
        }
        if stale { Task { await self.countReplicas(of: endpoint) } }
        return (known ?? 1) > 0
    }

    /// Reads how many replicas are connected to `endpoint` (`ROLE`); at most one
    /// count per master at a time. Leaves the count as it was when the node does not answer.
    @discardableResult
    private func countReplicas(of endpoint: Endpoint) async -> Int? {
        let first = state.withLock { state in state.countingReplicas.insert(endpoint).inserted }
        guard first else { return nil }
        defer { _ = state.withLock { state in state.countingReplicas.remove(endpoint) } }
        guard let pool = try? pool(for: endpoint), let reply = try? await pool.send(RESPCommand("ROLE")),
            case .array(let role) = reply, role.count >= 3, role[0].string == "master", case .array(let replicas) = role[2]
        else { return nil }
        state.withLock { state in state.replicas[endpoint] = (replicas.count, ContinuousClock.now) }
        return replicas.count
    }

    /// Returns when the `WAIT` reply says a replica has the write, or when the
    /// master turns out to have no replica connected any more (there is none to
    /// wait for); throws otherwise.
    private func confirm(_ confirmation: RESPValue, by endpoint: Endpoint) async throws {
        if case .integer(let replicas) = confirmation, replicas >= max(1, requiredAcknowledgements) { return }
        if requiredAcknowledgements == 0, await countReplicas(of: endpoint) == 0 { return }
        let message: String
        if case .integer(let replicas) = confirmation, requiredAcknowledgements > 0 {
            message = ReplicaAcknowledgement.shortfall(acknowledged: replicas, of: requiredAcknowledgements, within: acknowledgementTimeout)
                + "; it may be lost in a failover"
        } else {
            message = "no replica confirmed the write in time (WAIT answered \(confirmation))"
        }
        throw RedisNodeError(address: endpoint.description, underlying: RedisClusterError(message: message))
    }

    /// Whether a reply sent in a pipeline must be sent again on its own, which follows redirections.
    private static func needsResend(_ reply: RESPValue) -> Bool {
        guard case .error(let message) = reply else { return false }
        return message.hasPrefix("MOVED ") || message.hasPrefix("ASK ") || message.hasPrefix("TRYAGAIN")
            || message.hasPrefix("CLUSTERDOWN")
    }

    /// Waits before a retry: 25 ms, doubling, at most 400 ms.
    private func pause(_ attempt: Int) async throws {
        try await Task.sleep(for: .milliseconds(min(25 << min(attempt - 1, 4), 400)))
    }

    /// Parses `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381`.
    static func redirect(_ message: String) -> (slot: Int, target: Endpoint)? {
        let parts = message.split(separator: " ")
        guard parts.count >= 3, let slot = Int(parts[1]), (0..<slotCount).contains(slot),
            let colon = parts[2].lastIndex(of: ":"), let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        var host = String(parts[2][..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (slot, Endpoint(host: host, port: port))
    }

    // MARK: - Nodes and the map

    /// The master for `slot` (any master when `nil`), reading the map first when it has no entry.
    private func endpoint(forSlot slot: Int?) async throws -> Endpoint {
        for attempt in 0..<2 {
            let known: Endpoint? = state.withLock { state in
                if let slot {
                    let index = state.slots[slot]
                    return index >= 0 ? state.masters[index] : nil
                }
                return state.masters.randomElement()
            }
            if let known { return known }
            if attempt == 0 { try await refreshMap() }
        }
        throw RedisClusterError(message: "no Redis Cluster master serves hash slot \(slot.map(String.init) ?? "(any)")")
    }

    private func pool(for endpoint: Endpoint) throws -> RedisConnectionPool {
        try state.withLock { state in
            guard !state.isShutDown else {
                throw RedisConnectionPool.PoolError(kind: .shutDown)
            }
            if let pool = state.pools[endpoint] { return pool }
            let pool = makePool(endpoint)
            state.pools[endpoint] = pool
            return pool
        }
    }

    /// Points `slot` at `target` until the next refresh.
    private func learn(slot: Int, servedBy target: Endpoint) {
        state.withLock { state in
            if let index = state.masters.firstIndex(of: target) {
                state.slots[slot] = index
            } else {
                state.masters.append(target)
                state.slots[slot] = state.masters.count - 1
            }
        }
    }

    private func refreshInBackground() {
        Task { try? await self.refreshMap() }
    }

    /// Reads the slot map again; concurrent callers share one refresh.
    func refreshMap() async throws {
        let task: Task<Void, any Error> = try state.withLock { state in
            guard !state.isShutDown else { throw RedisConnectionPool.PoolError(kind: .shutDown) }
            if let running = state.refresh { return running }
            let task = Task {
                defer { self.state.withLock { $0.refresh = nil } }
                try await self.readMap()
            }
            state.refresh = task
            return task
        }
        try await task.value
    }

    private func readMap() async throws {
        let candidates: [Endpoint] = state.withLock { state in
            var seen = Set<Endpoint>()
            return (state.masters.shuffled() + seeds).filter { seen.insert($0).inserted }
        }
        var lastError: (any Error)?
        for node in candidates {
            do {
                let reply = try await pool(for: node).send(RESPCommand("CLUSTER", "SLOTS"))
                if case .error(let message) = reply {
                    lastError = RedisReplyError(command: "CLUSTER SLOTS", message: message)
                    continue
                }
                let (slots, masters) = try Self.parseSlots(reply, askedNode: node)
                state.withLock { state in
                    state.slots = slots
                    state.masters = masters
                }
                // Count each master's replicas, so writes know whether to wait for one.
                await withTaskGroup(of: Void.self) { group in
                    for master in masters {
                        group.addTask { await self.countReplicas(of: master) }
                    }
                }
                logger.debug("Redis Cluster slot map read", metadata: ["redis.node": "\(node)", "redis.masters": "\(masters)"])
                return
            } catch {
                lastError = RedisNodeError(address: node.description, underlying: error)
            }
        }
        throw RedisClusterError(
            message: "no Redis Cluster node answered CLUSTER SLOTS (asked \(candidates.map(\.description).joined(separator: ", ")))",
            cause: lastError
        )
    }

    /// Parses a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id, ...], replicas...], ...]`.
    static func parseSlots(_ reply: RESPValue, askedNode: Endpoint) throws -> (slots: [Int], masters: [Endpoint]) {
        guard case .array(let ranges) = reply else {
            throw RedisClusterError(message: "CLUSTER SLOTS answered \(reply)")
        }
        var slots = [Int](repeating: -1, count: slotCount)
        var masters: [Endpoint] = []
        for range in ranges {
            guard case .array(let parts) = range, parts.count >= 3,
                case .integer(let start) = parts[0], case .integer(let end) = parts[1],
                0 <= start, start <= end, end < slotCount,
                case .array(let master) = parts[2], master.count >= 2, case .integer(let port) = master[1]
            else {
                throw RedisClusterError(message: "CLUSTER SLOTS answered an unexpected range \(range)")
            }
            // An empty or "?" host means "the address you reached me on".
            var host = master[0].string ?? ""
            if host.isEmpty || host == "?" { host = askedNode.host }
            let endpoint = Endpoint(host: host, port: Int(port))
            let index: Int
            if let known = masters.firstIndex(of: endpoint) {
                index = known
            } else {
                masters.append(endpoint)
                index = masters.count - 1
            }
            for slot in Int(start)...Int(end) { slots[slot] = index }
        }
        return (slots, masters)
    }

    // MARK: - Closing

    func shutdown() async {
        let pools = beginShutdown()
        for pool in pools { await pool.shutdown() }
    }

    func closeAll() {
        for pool in beginShutdown() { pool.closeAll() }
    }

    private func beginShutdown() -> [RedisConnectionPool] {
        state.withLock { state in
            state.isShutDown = true
            state.refresh?.cancel()
            return Array(state.pools.values)
        }
    }
}
#endif  // Redis
