#if Redis
/// Where a ``RedisStore`` sends its commands: the one pool of a standalone
/// server, or the pool of the cluster node that serves each command's slot.
///
/// The store never talks to a pool directly; every command and script goes
/// through its router, and each touches keys of one slot only (its
/// ``RESPCommand/routingKey`` names one of them).
protocol RedisRouter: Sendable {
    /// Sends one command to the server that serves its key.
    ///
    /// - Returns: The reply; an error reply from Redis is returned, not thrown
    ///   (a cluster router has followed `MOVED` and `ASK` before returning).
    /// - Throws: ``RedisConnectionPool/PoolError``, ``RESPConnectionError`` or
    ///   ``RESPError`` from the pool (a cluster router wraps them in
    ///   ``RedisNodeError``), or ``RedisClusterError``.
    ///
    /// - Parameter durable: For a write: on a cluster whose master has replicas,
    ///   the reply counts only once a replica has the write too (`WAIT 1`,
    ///   pipelined after it on the same connection); otherwise the call throws.
    ///   A standalone server ignores it.
    func send(_ command: RESPCommand, durable: Bool) async throws -> RESPValue

    /// Sends commands, pipelined per server; each may be on another key.
    ///
    /// - Returns: Their replies, in the same order.
    func send(_ commands: [RESPCommand], durable: Bool) async throws -> [RESPValue]

    /// Closes every connection and waits until they are closed; later calls fail.
    func shutdown() async

    /// Closes every connection without waiting.
    func closeAll()
}

extension RedisRouter {
    /// Sends a command that needs no replica's confirmation (a read).
    func send(_ command: RESPCommand) async throws -> RESPValue {
        try await send(command, durable: false)
    }

    /// Sends commands that need no replica's confirmation (reads).
    func send(_ commands: [RESPCommand]) async throws -> [RESPValue] {
        try await send(commands, durable: false)
    }
}

/// One Redis server behind one pool.
struct RedisStandaloneRouter: RedisRouter {
    let pool: RedisConnectionPool

    func send(_ command: RESPCommand, durable: Bool) async throws -> RESPValue {
        try await pool.send(command)
    }

    func send(_ commands: [RESPCommand], durable: Bool) async throws -> [RESPValue] {
        try await pool.send(commands)
    }

    func shutdown() async {
        await pool.shutdown()
    }

    func closeAll() {
        pool.closeAll()
    }
}

/// Redis `WAIT` as the store sends it behind a write that replicas must have:
/// the command, and the reason given when too few replicas acknowledged it. The
/// standalone (Sentinel) store and the cluster router both use it.
enum ReplicaAcknowledgement {
    /// `WAIT <replicas> <timeout in milliseconds, at least 1>`.
    static func command(replicas: Int, timeout: Duration) -> RESPCommand {
        RESPCommand("WAIT", .string(String(replicas)), .string(String(max(1, Int(timeout / .milliseconds(1))))))
    }

    /// "only 1 of the 2 replicas asked for (minimumReplicaAcknowledgements)
    /// acknowledged the write within 0.5 seconds"; callers add where.
    static func shortfall(acknowledged: Int64, of replicas: Int, within timeout: Duration) -> String {
        "only \(acknowledged) of the \(replicas) replicas asked for (minimumReplicaAcknowledgements) "
            + "acknowledged the write within \(timeout)"
    }
}

/// A failure of one cluster node's pool or connection, with the node's address.
struct RedisNodeError: Error, CustomStringConvertible {
    /// The node, as `host:port`.
    var address: String
    /// What the pool or connection threw.
    var underlying: any Error

    var description: String { "\(address): \(underlying)" }
}

/// The cluster as a whole cannot serve a command: no node answered for the
/// slot map, no node serves the slot, or redirections did not settle.
struct RedisClusterError: Error, CustomStringConvertible {
    var message: String
    /// The last failure met, if any.
    var cause: (any Error)?

    var description: String { message + (cause.map { ": \($0)" } ?? "") }
}
#endif  // Redis
