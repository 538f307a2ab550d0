#if Redis
public import Foundation
public import Logging
public import NIOCore
public import NIOPosix
import NIOSSL
public import SessionKit

/// A ``SessionKit/SessionStore`` that keeps sessions in Redis, shared by every app
/// server that talks to the same Redis.
///
/// Each session is one Redis hash under `<keyPrefix><key>` (the key is the hashed
/// session id, never the token) with three fields: `d`, the data bytes as given;
/// `v`, the version as decimal text; and `e`, the expiry in Unix milliseconds.
/// Redis drops the hash at its expiry by itself (`PEXPIREAT`), so idle and absolute
/// limits hold with no sweep, and a record saved with an expiry already past is
/// gone at once. Loads also treat `e` at or before this process's clock as
/// absent, so a skewed server clock cannot bring a session back.
///
/// The store is a ``SessionKit/SessionOwnerIndex``. A record saved with an owner
/// has two more fields: `o`, the owner as given, and `i`, the hexadecimal SHA-256
/// of the owner; its key's hex is then a member of the owner's sorted set,
/// `<keyPrefix>owners:<i>` (every score 0, so members sort by key and
/// `ZRANGE … BYLEX LIMIT` reads a page of them in O(log n + page)). The save,
/// touch and delete scripts keep the set in step with the record and the set
/// alive as long as its newest member; members whose records expired are
/// removed when their page is listed, and checked a few at a time by saves once
/// a set grows past a thousand members. No script reads a whole owner set:
/// listing and revoking go a page (at most 1,000 members, the engine asks for
/// 100) per call, so Redis serves everyone else between pages. Plain sets under
/// `<keyPrefix>owner:<i>`, the index before paging, are moved into the sorted
/// sets a page at a time when their owner is listed or revoked, or member by
/// member when a session in one is touched.
///
/// Every operation is one round trip, except listing a page of an owner's
/// sessions, which takes two. A save is a compare-and-swap run atomically on the server by a Lua
/// script (sent with `EVALSHA`, falling back to `EVAL` when the server has lost
/// its script cache); a touch and a delete are scripts too, so the owner index
/// follows them; a load is `HMGET`.
///
/// The store speaks RESP2 over its own small SwiftNIO client: up to
/// ``Configuration/maximumConnections`` connections, each pipelining many
/// commands, opened lazily on first use and replaced when they close. When
/// Redis cannot be reached, calls fail within the timeouts with
/// ``SessionKit/SessionStoreError/Code/unavailable`` naming the address; after a
/// failed connect the store waits a little (50 ms, doubling up to 2 s) before
/// trying again, failing calls at once meanwhile, so a server that is down is
/// not hammered. With ``Configuration/tls`` (`rediss://`) every connection is
/// TLS; under ``Topology/sentinel(masterName:sentinels:)`` the store finds the
/// master through Sentinel.
///
/// With ``Topology/cluster(seeds:)`` the store talks to a Redis Cluster: it
/// reads the slot map (`CLUSTER SLOTS`) from the seeds, keeps a pool like the
/// one above per master, and sends each command to the master of its key's
/// slot, following `MOVED` and `ASK` and reading the map again after a
/// redirection or a node failure. Every script touches keys of one slot, so
/// a save, touch or delete writes the session and its owner's sorted sets
/// (`<keyPrefix>owners:{<i>}` and `…:e`) in separate steps, in an order that
/// can leave an index member without a session after a crash but never a live
/// session its owner cannot list or revoke; a save that binds a session to a
/// new owner takes four round trips (five when it leaves another owner),
/// a save under the owner it had two, one without an owner one, a touch
/// three. Every write waits
/// (`WAIT 1`) until a replica has it, when its master has one, so a failover
/// does not lose what the store acknowledged. Commands that still fail during a
/// failover or a slot migration fail with
/// ``SessionKit/SessionStoreError/Code/unavailable`` naming the node.
///
/// No background work is needed: call ``shutdown()`` when done to close the
/// connections, or run ``run()`` as a service, which closes them when its task is
/// cancelled. Dropping the last reference to the store also closes them.
///
/// ```swift
/// let store = try RedisStore(configuration: .init(url: "redis://:secret@127.0.0.1:6379/0"))
/// let engine = try SessionEngine(store: store)
/// // ... serve requests ...
/// await store.shutdown()
/// ```
public final class RedisStore: SessionStore {
    /// `redis`.
    public var name: String { "redis" }

    /// The store's settings.
    public let configuration: Configuration

    /// The largest session, in bytes, the store accepts; larger saves fail with
    /// ``SessionKit/SessionStoreError/Code/tooLarge``. Replies are capped at twice
    /// this, so every record the store writes can be read back.
    public static let maximumDataSize = 32 * 1024 * 1024

    /// Where every command goes: the one server's pool, or the cluster node serving each key.
    let router: any RedisRouter
    /// Whether the store talks to a Redis Cluster, where a session and its
    /// owner's index live on different slots (see `RedisStore+Cluster.swift`).
    let isCluster: Bool
    /// Where the master is, under ``Topology/sentinel(masterName:sentinels:)``.
    let sentinel: RedisSentinelMaster?
    let clock: any SessionClock
    private let logger: Logger

    /// Creates a store; no connection opens until the first call.
    ///
    /// - Parameters:
    ///   - configuration: Where Redis is and how to use it.
    ///   - eventLoopGroup: The event loops the connections run on. Defaults to
    ///     SwiftNIO's shared `MultiThreadedEventLoopGroup.singleton`.
    ///   - clock: The source of the current time, used to treat records at or past
    ///     their expiry as absent. Keep it close to the wall clock: Redis expires
    ///     records by its own clock.
    ///   - logger: Where connection failures and recoveries are logged.
    /// - Throws: ``SessionKit/SessionConfigurationError`` naming the setting (for
    ///   example `RedisStore.port`) when the host is empty, the port is outside
    ///   1–65535, the database is negative, a timeout is not positive, or
    ///   `maximumConnections` is below 1.
    public convenience init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        clock: any SessionClock = SystemSessionClock(),
        logger: Logger = Logger(label: "sessionkit.redis")
    ) throws(SessionConfigurationError) {
        try self.init(configuration: configuration, eventLoopGroup: eventLoopGroup, clock: clock, logger: logger, wrapRouter: { $0 })
    }

    private init(
        configuration: Configuration,
        eventLoopGroup: any EventLoopGroup,
        clock: any SessionClock,
        logger: Logger,
        wrapRouter: (any RedisRouter) -> any RedisRouter
    ) throws(SessionConfigurationError) {
        try Self.validate(configuration)
        self.configuration = configuration
        self.clock = clock
        self.logger = logger

        var handshake: [RESPCommand] = []
        if let password = configuration.password {
            if let username = configuration.username {
                handshake.append(RESPCommand("AUTH", .string(username), .string(password)))
            } else {
                handshake.append(RESPCommand("AUTH", .string(password)))
            }
        }
        if configuration.database != 0 {
            handshake.append(RESPCommand("SELECT", .string(String(configuration.database))))
        }
        var limits = RESPValue.DecodingLimits.standard
        limits.maximumReplyBytes = 2 * Self.maximumDataSize
        let connection = RESPConnection.Options(
            connectTimeout: TimeAmount(configuration.connectTimeout),
            commandTimeout: TimeAmount(configuration.commandTimeout),
            handshake: handshake,
            limits: limits,
            tls: try configuration.tls.map(Self.tlsSettings)
        )
        let addresses: any RedisAddressProvider
        switch configuration.topology {
        case .sentinel(let masterName, let sentinels):
            var sentinelHandshake: [RESPCommand] = []
            if let password = configuration.sentinelPassword {
                if let username = configuration.sentinelUsername {
                    sentinelHandshake.append(RESPCommand("AUTH", .string(username), .string(password)))
                } else {
                    sentinelHandshake.append(RESPCommand("AUTH", .string(password)))
                }
            }
            var sentinelOptions = connection
            sentinelOptions.handshake = sentinelHandshake
            sentinelOptions.limits = .standard  // the sentinels keep the master's TLS settings
            let master = RedisSentinelMaster(
                masterName: masterName,
                sentinels: sentinels,
                sentinelOptions: sentinelOptions,
                masterOptions: connection,
                group: eventLoopGroup,
                logger: logger
            )
            self.sentinel = master
            addresses = master
        case .standalone, .cluster:
            self.sentinel = nil
            addresses = FixedRedisAddress(endpoint: Endpoint(host: configuration.host, port: configuration.port))
        }
        let poolOptions = RedisConnectionPool.Options(connection: connection, maximumConnections: configuration.maximumConnections)
        if case .cluster(let seeds) = configuration.topology {
            // One pool per master, each on a fixed address, with the same options (TLS included).
            let acknowledgements = configuration.minimumReplicaAcknowledgements
            self.isCluster = true
            self.router = wrapRouter(
                RedisClusterRouter(
                    seeds: seeds,
                    retryWindow: configuration.commandTimeout,
                    requiredAcknowledgements: acknowledgements,
                    acknowledgementTimeout: acknowledgements > 0
                        ? configuration.replicaAcknowledgementTimeout : configuration.commandTimeout / 2,
                    logger: logger
                ) { endpoint in
                    RedisConnectionPool(options: poolOptions, addresses: FixedRedisAddress(endpoint: endpoint), group: eventLoopGroup, logger: logger)
                }
            )
            return
        }
        let pool = RedisConnectionPool(options: poolOptions, addresses: addresses, group: eventLoopGroup, logger: logger)
        self.isCluster = false
        self.router = wrapRouter(RedisStandaloneRouter(pool: pool))
        if let sentinel {
            // Weak: the lookup outlives no store; a store being dropped closes its pool itself.
            sentinel.onSwitch { [weak pool] in pool?.reconnect() }
        }
    }

    /// Creates a store as ``init(configuration:eventLoopGroup:clock:logger:)`` does,
    /// with its router wrapped by `wrapRouter`: tests put a fault-injecting router there.
    convenience init(
        configuration: Configuration,
        clock: any SessionClock = SystemSessionClock(),
        wrappingRouter wrapRouter: @escaping (any RedisRouter) -> any RedisRouter
    ) throws(SessionConfigurationError) {
        try self.init(
            configuration: configuration,
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            clock: clock,
            logger: Logger(label: "sessionkit.redis"),
            wrapRouter: wrapRouter
        )
    }

    deinit {
        router.closeAll()
        sentinel?.shutdown()
    }

    /// The standalone (or Sentinel) server's pool; tests look at its connections.
    var pool: RedisConnectionPool {
        guard let standalone = router as? RedisStandaloneRouter else {
            preconditionFailure("a Redis Cluster store has one pool per node")
        }
        return standalone.pool
    }

    /// The servers, for errors and logs: "Redis at host:port", the Sentinel master, or the cluster's seeds.
    var serverDescription: String {
        if case .cluster(let seeds) = configuration.topology {
            return "Redis Cluster (seeds \(seeds.map(\.description).joined(separator: ",")))"
        }
        return "Redis at \(target)"
    }

    /// Loads the record kept under `key` with one `HMGET`.
    ///
    /// - Parameter key: The hashed session id.
    /// - Returns: The record, with its owner, and its version; `nil` when there is
    ///   none, it has expired by Redis's clock or this store's, or it cannot be
    ///   read (a field is missing or not a number, or the key holds another type).
    /// - Throws: ``SessionKit/SessionStoreError`` when Redis cannot be reached
    ///   (`unavailable`), does not answer in time (`timedOut`), or answers with an
    ///   error (`unavailable`).
    public func load(_ key: SessionKey) async throws -> StoredSession? {
        try storedSession(key, from: try await send(loadCommand(key)), now: Self.milliseconds(clock.now()))
    }

    /// The `HMGET` that reads a record's fields; on a cluster also `p`, set while
    /// a save binds the record to a new owner (see `RedisStore+Cluster.swift`).
    func loadCommand(_ key: SessionKey) -> RESPCommand {
        if isCluster { return RESPCommand("HMGET", redisKey(key), "d", "v", "e", "o", "p") }
        return RESPCommand("HMGET", redisKey(key), "d", "v", "e", "o")
    }

    /// Reads the reply to ``loadCommand(_:)``: `nil` for a record that is missing,
    /// unreadable, pending (a cluster save binding it to an owner has not
    /// finished), or expired at `now` (Unix milliseconds). An unreadable record
    /// (a field missing or not a number, or another type under the key) is logged
    /// at `warning`; the next save replaces it.
    func storedSession(_ key: SessionKey, from reply: RESPValue, now: Int64) throws(SessionStoreError) -> StoredSession? {
        if case .error(let message) = reply {
            // Another type under a session key is an unreadable record, not a failure.
            if message.hasPrefix("WRONGTYPE") {
                logUnreadable(key, reason: "the key holds a value that is not a hash")
                return nil
            }
            throw replyError(message, command: "HMGET")
        }
        guard case .array(let fields) = reply, fields.count == (isCluster ? 5 : 4) else {
            throw unexpectedReply(reply, command: "HMGET")
        }
        // No field at all: no record (HMGET of a missing key).
        if fields.allSatisfy({ if case .null = $0 { true } else { false } }) { return nil }
        // Still being bound to its owner (a cluster save in progress, or one stopped midway): not live yet.
        if isCluster, fields[4] != .null { return nil }
        guard
            let data = fields[0].bytes,
            let versionText = fields[1].string, let version = UInt64(versionText),
            let expiryText = fields[2].string, let expiry = Int64(expiryText)
        else {
            logUnreadable(key, reason: "a field is missing or not a number")
            return nil
        }
        guard expiry > now else { return nil }
        return StoredSession(
            record: SessionRecord(
                key: key,
                data: data,
                expiresAt: Date(timeIntervalSince1970: Double(expiry) / 1000),
                owner: fields[3].string
            ),
            version: SessionVersion(version)
        )
    }

    /// Creates or updates a record with compare-and-swap, in one round trip.
    ///
    /// A new record gets ``SessionKit/SessionVersion/initial``; an update gets the
    /// version after the expected one. The expiry is kept to the millisecond. The
    /// same script moves the record into its owner's set, and out of the set of the
    /// owner it had before.
    ///
    /// - Parameters:
    ///   - record: The record to write.
    ///   - version: `nil` to create (succeeds when no live record exists), or the
    ///     version of the live record to replace.
    /// - Returns: The new version, or ``SessionKit/SessionSaveResult/conflict``
    ///   when nothing was written.
    /// - Throws: ``SessionKit/SessionStoreError``: `unavailable` or `timedOut` as
    ///   for ``load(_:)``; `invalidData` for an expiry that is not a finite date;
    ///   `tooLarge` for data over ``maximumDataSize``.
    public func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        guard record.data.count <= Self.maximumDataSize else {
            throw SessionStoreError(
                code: .tooLarge,
                storeName: name,
                message: "a session of \(record.data.count) bytes is over the Redis store's limit of \(Self.maximumDataSize) bytes"
            )
        }
        let expiry = try expiryMilliseconds(record.expiresAt)
        let newVersion = version?.next ?? .initial
        let digest = record.owner.map(Self.ownerDigest)
        if isCluster {
            return try await clusterSave(record, expecting: version, newVersion: newVersion, expiry: expiry, digest: digest)
        }
        var keys = [redisKey(record.key)]
        if let digest { keys.append(ownerSetKey(digest)) }
        let reply = try await evaluate(
            .save,
            keys: keys,
            arguments: [
                .string(version.map { String($0.rawValue) } ?? ""),
                .string(String(newVersion.rawValue)),
                .bytes(record.data),
                .string(String(expiry)),
                .string(String(Self.milliseconds(clock.now()))),
                .string(record.owner ?? ""),
                .string(digest ?? ""),
                .string(ownerSetKeyPrefix),
                .string(record.key.hex),
                .string(configuration.keyPrefix),
                .string(plainOwnerSetKeyPrefix),
            ]
        )
        switch reply {
        case .integer(1): return .saved(newVersion)
        case .integer(0): return .conflict
        default: throw unexpectedReply(reply, command: "EVALSHA")
        }
    }

    /// Moves a live record's expiry, keeping its data and version, in one round trip.
    ///
    /// A missing or expired record stays missing. An expiry already past removes
    /// the record. The owner's set is kept alive at least as long as the record.
    ///
    /// - Parameters:
    ///   - key: The hashed session id.
    ///   - expiresAt: The new expiry.
    /// - Throws: ``SessionKit/SessionStoreError`` as for ``save(_:expecting:)``.
    public func touch(_ key: SessionKey, expiresAt: Date) async throws {
        let expiry = try expiryMilliseconds(expiresAt)
        if isCluster { return try await clusterTouch(key, expiry: expiry) }
        let reply = try await evaluate(
            .touch,
            keys: [redisKey(key)],
            arguments: [
                .string(String(expiry)),
                .string(String(Self.milliseconds(clock.now()))),
                .string(ownerSetKeyPrefix),
                .string(plainOwnerSetKeyPrefix),
                .string(key.hex),
            ]
        )
        guard case .integer = reply else { throw unexpectedReply(reply, command: "EVALSHA") }
    }

    /// Removes the record under `key`, and its key from its owner's set, in one
    /// round trip; a missing record is a no-op.
    ///
    /// - Parameter key: The hashed session id.
    /// - Throws: ``SessionKit/SessionStoreError`` as for ``load(_:)``.
    public func delete(_ key: SessionKey) async throws {
        if isCluster { return try await clusterDelete(key) }
        let reply = try await evaluate(
            .delete,
            keys: [redisKey(key)],
            arguments: [.string(ownerSetKeyPrefix), .string(key.hex), .string(plainOwnerSetKeyPrefix)]
        )
        guard case .integer = reply else { throw unexpectedReply(reply, command: "EVALSHA") }
    }

    /// Waits until the calling task is cancelled, then closes every connection.
    ///
    /// The store needs no background work; this exists so it can run as a
    /// service (for example in a Hummingbird service group) whose graceful
    /// shutdown closes the connections. It returns normally on cancellation.
    public func run() async {
        let (cancelled, continuation) = AsyncStream<Never>.makeStream()
        await withTaskCancellationHandler {
            for await _ in cancelled {}
        } onCancel: {
            continuation.finish()
        }
        await shutdown()
    }

    /// Closes every connection and waits until they are closed.
    ///
    /// Calls in flight fail; later calls throw ``SessionKit/SessionStoreError``
    /// with code `unavailable`. Calling it again does nothing.
    public func shutdown() async {
        sentinel?.shutdown()
        await router.shutdown()
    }

    // MARK: - Commands

    /// Sends a command through the router, mapping client failures to ``SessionStoreError``.
    ///
    /// - Parameter durable: For a write on a cluster: wait until a replica has it
    ///   (see ``RedisRouter/send(_:durable:)``).
    func send(_ command: RESPCommand, durable: Bool = false) async throws(SessionStoreError) -> RESPValue {
        do {
            let reply = try await router.send(command, durable: durable)
            noticeReadOnly(reply)
            return reply
        } catch {
            forgetMaster(after: error)
            throw storeError(error, command: command)
        }
    }

    /// Sends commands pipelined (on one connection per server), mapping client failures to ``SessionStoreError``.
    func send(_ commands: [RESPCommand], durable: Bool = false) async throws(SessionStoreError) -> [RESPValue] {
        guard let first = commands.first else { return [] }
        do {
            let replies = try await router.send(commands, durable: durable)
            replies.forEach(noticeReadOnly)
            return replies
        } catch {
            forgetMaster(after: error)
            throw storeError(error, command: first)
        }
    }

    /// What the store talks to, for errors: the address, or the Sentinel master and its address once known.
    var target: String {
        sentinel?.description ?? configuration.target
    }

    /// Under Sentinel, a `READONLY` reply means the server is no longer the
    /// master: forget it and close the connections to it.
    private func noticeReadOnly(_ reply: RESPValue) {
        guard let sentinel, case .error(let message) = reply, message.hasPrefix("READONLY") else { return }
        sentinel.invalidate()
        pool.reconnect()
    }

    /// Under Sentinel, a connection error or a timeout may mean the master is
    /// gone: the next connection asks the sentinels again.
    private func forgetMaster(after error: any Error) {
        guard let sentinel else { return }
        switch error {
        case let error as RedisConnectionPool.PoolError where error.kind == .shutDown: return
        default: sentinel.invalidate()
        }
    }

    /// Maps a failure of the client while it sent `command` to ``SessionStoreError``.
    private func storeError(_ error: any Error, command: RESPCommand) -> SessionStoreError {
        storeError(error, command: command, server: serverDescription)
    }

    /// Maps a failure of the client while it sent `command` to ``SessionStoreError``
    /// naming `server` ("Redis at host:port").
    private func storeError(_ error: any Error, command: RESPCommand, server: String) -> SessionStoreError {
        switch error {
        case let error as RedisNodeError:
            return storeError(error.underlying, command: command, server: "Redis Cluster node \(error.address)")
        case let error as RedisClusterError:
            return SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "\(serverDescription) cannot serve \(command.name): \(error.message)",
                cause: error.cause ?? error
            )
        case let error as RedisConnectionPool.PoolError:
            switch error.kind {
            case .shutDown:
                return SessionStoreError(code: .unavailable, storeName: name, message: "the Redis store was shut down")
            case .cannotConnect:
                if let cause = error.cause, Self.isTLSFailure(cause) {
                    // Never retried without TLS: the reason (an unverifiable certificate, a
                    // name that does not match, a client certificate the server wants) is the message.
                    return SessionStoreError(
                        code: .unavailable,
                        storeName: name,
                        message: "the TLS handshake with \(server) failed: \(cause)",
                        cause: cause
                    )
                }
                if configuration.tls != nil, let cause = error.cause as? RESPConnectionError, cause.kind == .timedOut {
                    return SessionStoreError(
                        code: .unavailable,
                        storeName: name,
                        message: "the TLS handshake with \(server) did not finish within \(configuration.commandTimeout); "
                            + "does the server speak TLS on that port?",
                        cause: cause
                    )
                }
                return SessionStoreError(
                    code: .unavailable,
                    storeName: name,
                    message: "cannot connect to \(server)",
                    cause: error.cause
                )
            }
        case let error as RESPConnectionError:
            switch error.kind {
            case .timedOut:
                return SessionStoreError(
                    code: .timedOut,
                    storeName: name,
                    message: "\(server) did not answer \(command.name) within \(configuration.commandTimeout); "
                        + "the connection was closed",
                    cause: error
                )
            case .closed:
                return SessionStoreError(
                    code: .unavailable,
                    storeName: name,
                    message: "the connection to \(server) closed before it answered \(command.name)",
                    cause: error
                )
            }
        case let error as RESPError:
            return SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "\(server) sent a malformed reply to \(command.name); the connection was closed",
                cause: error
            )
        default:
            return SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "the connection to \(server) failed during \(command.name)",
                cause: error
            )
        }
    }

    /// Whether a connect failure is TLS refusing the server (or the server refusing us).
    static func isTLSFailure(_ error: any Error) -> Bool {
        error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError
    }

    /// Runs a script by its SHA-1, sending the source once when the server does not have it cached.
    ///
    /// With ``Configuration/minimumReplicaAcknowledgements`` above 0, a `WAIT` is
    /// pipelined behind the script on the same connection, and fewer replicas than
    /// asked for is an `unavailable` error. On a cluster, `durable` scripts (the
    /// writes) are confirmed by the router instead (``RedisRouter/send(_:durable:)``).
    func evaluate(
        _ script: RedisScript,
        keys: [RESPCommand.Argument],
        arguments: [RESPCommand.Argument],
        durable: Bool = false
    ) async throws(SessionStoreError) -> RESPValue {
        let keysAndArguments = [.string(String(keys.count))] + keys + arguments
        let reply = try await sendAcknowledged(RESPCommand("EVALSHA", [.string(script.sha1)] + keysAndArguments), durable: durable)
        guard case .error(let message) = reply else { return reply }
        guard message.hasPrefix("NOSCRIPT") else { throw replyError(message, command: "EVALSHA") }
        // The server restarted or its script cache was flushed: EVAL runs the script and caches it again.
        let fallback = try await sendAcknowledged(RESPCommand("EVAL", [.string(script.source)] + keysAndArguments), durable: durable)
        if case .error(let message) = fallback { throw replyError(message, command: "EVAL") }
        return fallback
    }

    /// Sends a command, followed by `WAIT` when writes must reach replicas; on a
    /// cluster the router does that for `durable` commands, on the node it sends them to.
    private func sendAcknowledged(_ command: RESPCommand, durable: Bool) async throws(SessionStoreError) -> RESPValue {
        if isCluster { return try await send(command, durable: durable) }
        let replicas = configuration.minimumReplicaAcknowledgements
        guard replicas > 0 else { return try await send(command) }
        let timeout = configuration.replicaAcknowledgementTimeout
        let replies = try await send([command, ReplicaAcknowledgement.command(replicas: replicas, timeout: timeout)])
        if case .error = replies[0] { return replies[0] }
        guard case .integer(let acknowledged) = replies[1] else {
            if case .error(let message) = replies[1] { throw replyError(message, command: "WAIT") }
            throw unexpectedReply(replies[1], command: "WAIT")
        }
        guard acknowledged >= replicas else {
            throw SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: ReplicaAcknowledgement.shortfall(acknowledged: acknowledged, of: replicas, within: timeout)
                    + " at \(target); it may be lost in a failover"
            )
        }
        return replies[0]
    }

    private func logUnreadable(_ key: SessionKey, reason: String) {
        logger.warning(
            "Ignoring an unreadable session record",
            metadata: [
                "sessionkit.store": "\(name)",
                "sessionkit.session": "\(key.fingerprint)",
                "sessionkit.reason": "\(reason)",
            ]
        )
    }

    func redisKey(_ key: SessionKey) -> RESPCommand.Argument {
        .string(configuration.keyPrefix + key.hex)
    }

    // MARK: - Errors

    func replyError(_ message: String, command: String) -> SessionStoreError {
        let detail: String
        if message.hasPrefix("OOM") {
            detail = "Redis is out of memory (maxmemory); raise maxmemory or choose an eviction policy"
        } else if message.hasPrefix("NOAUTH") || message.hasPrefix("WRONGPASS") {
            detail = "Redis requires a valid password; check the user name and password"
        } else if message.hasPrefix("READONLY") {
            detail = sentinel == nil
                ? "Redis is a read-only replica; point the store at the primary"
                : "the master became a replica (a failover); the store asks Sentinel for the new master"
        } else {
            detail = "\(serverDescription) refused \(command)"
        }
        return SessionStoreError(
            code: .unavailable,
            storeName: name,
            message: "\(detail): \(message)",
            cause: RedisReplyError(command: command, message: message)
        )
    }

    func unexpectedReply(_ reply: RESPValue, command: String) -> SessionStoreError {
        SessionStoreError(
            code: .unavailable,
            storeName: name,
            message: "\(serverDescription) answered \(command) with an unexpected \(reply); is it a Redis server?"
        )
    }

    // MARK: - Time

    /// The largest expiry the store writes, in Unix milliseconds: beyond 2^53 Lua's
    /// numbers would round it.
    private static let maximumExpiry: Int64 = (1 << 53) - 1

    private func expiryMilliseconds(_ date: Date) throws(SessionStoreError) -> Int64 {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite else {
            throw SessionStoreError(code: .invalidData, storeName: name, message: "a record's expiry is not a finite date")
        }
        return Self.milliseconds(date)
    }

    /// A date as Unix milliseconds, rounded to the nearest and kept within what Redis and Lua handle exactly.
    static func milliseconds(_ date: Date) -> Int64 {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        guard milliseconds.isFinite else { return milliseconds > 0 ? maximumExpiry : 0 }
        return Int64(min(max(milliseconds, 0), Double(maximumExpiry)))
    }

    private static func validate(_ configuration: Configuration) throws(SessionConfigurationError) {
        func invalid(_ setting: String, _ reason: String) -> SessionConfigurationError {
            SessionConfigurationError(setting: "RedisStore.\(setting)", reason: reason)
        }
        guard !configuration.host.isEmpty else { throw invalid("host", "must not be empty") }
        guard (1...65_535).contains(configuration.port) else {
            throw invalid("port", "must be from 1 to 65535, got \(configuration.port)")
        }
        guard configuration.database >= 0 else {
            throw invalid("database", "must not be negative, got \(configuration.database)")
        }
        guard configuration.commandTimeout > .zero else {
            throw invalid("commandTimeout", "must be positive, got \(configuration.commandTimeout)")
        }
        guard configuration.connectTimeout > .zero else {
            throw invalid("connectTimeout", "must be positive, got \(configuration.connectTimeout)")
        }
        guard configuration.maximumConnections >= 1 else {
            throw invalid("maximumConnections", "must be at least 1, got \(configuration.maximumConnections)")
        }
        if case .cluster(let seeds) = configuration.topology {
            guard !seeds.isEmpty else { throw invalid("topology", "a cluster needs at least one seed node") }
            for seed in seeds {
                guard !seed.host.isEmpty else { throw invalid("topology", "a seed node's host must not be empty") }
                guard (1...65_535).contains(seed.port) else {
                    throw invalid("topology", "a seed node's port must be from 1 to 65535, got \(seed.port)")
                }
            }
            guard configuration.database == 0 else {
                throw invalid("database", "must be 0 for a Redis Cluster, which has no other database, got \(configuration.database)")
            }
        }
        guard configuration.minimumReplicaAcknowledgements >= 0 else {
            throw invalid(
                "minimumReplicaAcknowledgements",
                "must not be negative (0 does not wait), got \(configuration.minimumReplicaAcknowledgements)"
            )
        }
        if configuration.minimumReplicaAcknowledgements > 0 {
            guard configuration.replicaAcknowledgementTimeout >= .milliseconds(1),
                configuration.replicaAcknowledgementTimeout < configuration.commandTimeout
            else {
                throw invalid(
                    "replicaAcknowledgementTimeout",
                    "must be at least 1 ms and shorter than commandTimeout (\(configuration.commandTimeout)), "
                        + "got \(configuration.replicaAcknowledgementTimeout)"
                )
            }
        }
        if case .sentinel(let masterName, let sentinels) = configuration.topology {
            guard !masterName.isEmpty else { throw invalid("topology", "the Sentinel master name must not be empty") }
            guard !sentinels.isEmpty else { throw invalid("topology", "Sentinel needs at least one sentinel address") }
            for sentinel in sentinels where sentinel.host.isEmpty || !(1...65_535).contains(sentinel.port) {
                throw invalid("topology", "the sentinel address \(sentinel) needs a host and a port from 1 to 65535")
            }
        }
    }
}
#endif  // Redis
