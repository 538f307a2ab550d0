#if Redis
import Foundation
import NIOCore
import SessionKit
import SessionKitConformance
import Synchronization
import Testing

@testable import SessionKitRedis

/// The Redis Cluster the cluster tests use, from `REDIS_CLUSTER_URL`
/// (`redis-cluster://host:port,host:port,...`; `scripts/test` starts one).
///
/// When `SESSIONKIT_TEST_SERVERS_REQUIRED=1` and the variable is missing, the
/// tests run anyway and fail with ``MissingCluster``.
enum RedisClusterTestServer {
    static let url: String? = ProcessInfo.processInfo.environment["REDIS_CLUSTER_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static let shouldRun = url != nil || RedisTestServer.isRequired

    struct MissingCluster: Error, CustomStringConvertible {
        var description: String {
            "REDIS_CLUSTER_URL is not set but SESSIONKIT_TEST_SERVERS_REQUIRED=1: start a cluster with "
                + "start_redis_cluster (scripts/lib/servers.sh) and export REDIS_CLUSTER_URL, as scripts/test does"
        }
    }

    /// The seed nodes named by the URL.
    static func seeds() throws -> [RedisStore.Endpoint] {
        guard let url, let schemeEnd = url.range(of: "://") else { throw MissingCluster() }
        var authority = url[schemeEnd.upperBound...]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if let slash = authority.firstIndex(of: "/") { authority = authority[..<slash] }
        return authority.split(separator: ",").compactMap { node in
            guard let colon = node.lastIndex(of: ":"), let port = Int(node[node.index(after: colon)...]) else { return nil }
            return RedisStore.Endpoint(host: String(node[..<colon]), port: port)
        }
    }

    /// A cluster configuration (from the URL, as an app would read it) under a key prefix no other test uses.
    static func configuration() throws -> RedisStore.Configuration {
        guard let url else { throw MissingCluster() }
        var configuration = try RedisStore.Configuration(url: url)
        #expect(configuration.topology == .cluster(seeds: try seeds()))
        configuration.keyPrefix = "sessionkit-test:\(UUID().uuidString):"
        return configuration
    }

    /// A store on the cluster under a fresh key prefix.
    static func store(wrappingRouter wrap: ((any RedisRouter) -> any RedisRouter)? = nil) throws -> RedisStore {
        if let wrap {
            return try RedisStore(configuration: configuration(), wrappingRouter: wrap)
        }
        return try RedisStore(configuration: configuration())
    }

    /// A store talking straight to one node, for administrative commands.
    static func node(_ endpoint: RedisStore.Endpoint) throws -> RedisStore {
        try RedisStore(configuration: .init(host: endpoint.host, port: endpoint.port))
    }
}

/// Hash slots as Redis Cluster computes them; no server needed.
@Suite struct RedisClusterSlotTests {
    @Test func crc16IsTheXmodemVariantRedisUses() {
        #expect(RedisClusterRouter.crc16(Array("123456789".utf8)) == 0x31C3)
    }

    @Test func slotsMatchWhatRedisAnswersForClusterKeyslot() {
        // `CLUSTER KEYSLOT foo` is 12182, `bar` 5061, `hello` 866.
        #expect(RedisClusterRouter.slot(of: Array("foo".utf8)) == 12182)
        #expect(RedisClusterRouter.slot(of: Array("bar".utf8)) == 5061)
        #expect(RedisClusterRouter.slot(of: Array("hello".utf8)) == 866)
    }

    @Test func hashTagPutsKeysOnOneSlotAndAnEmptyTagIsIgnored() {
        let a = RedisClusterRouter.slot(of: Array("sessionkit:owners:{abc}".utf8))
        #expect(a == RedisClusterRouter.slot(of: Array("sessionkit:owners:{abc}:e".utf8)))
        #expect(a == RedisClusterRouter.slot(of: Array("abc".utf8)))
        #expect(RedisClusterRouter.slot(of: Array("x{}y".utf8)) == Int(RedisClusterRouter.crc16(Array("x{}y".utf8)) % 16384))
    }

    @Test func scriptsRouteByTheirFirstKeyAndAdminCommandsByNone() {
        #expect(RESPCommand("EVALSHA", "0123", "1", "k", "arg").routingKey == Array("k".utf8))
        #expect(RESPCommand("EVALSHA", "0123", "0", "arg").routingKey == nil)
        #expect(RESPCommand("HMGET", "k", "d").routingKey == Array("k".utf8))
        #expect(RESPCommand("CLUSTER", "SLOTS").routingKey == nil)
    }

    @Test func redirectionsAreParsed() {
        let moved = RedisClusterRouter.redirect("MOVED 3999 127.0.0.1:6381")
        #expect(moved?.slot == 3999)
        #expect(moved?.target == RedisStore.Endpoint(host: "127.0.0.1", port: 6381))
        #expect(RedisClusterRouter.redirect("ASK 1 [::1]:7000")?.target == RedisStore.Endpoint(host: "::1", port: 7000))
        #expect(RedisClusterRouter.redirect("MOVED nonsense") == nil)
    }

    @Test func clusterConfigurationIsValidatedAtStart() {
        var configuration = RedisStore.Configuration()
        configuration.topology = .cluster(seeds: [])
        #expect(throws: SessionConfigurationError.self) { try RedisStore(configuration: configuration) }
        configuration.topology = .cluster(seeds: [.init(host: "127.0.0.1", port: 7000)])
        configuration.database = 1
        #expect(throws: SessionConfigurationError.self) { try RedisStore(configuration: configuration) }
    }
}

/// The Redis store against a 3-master, 3-replica Redis Cluster (`REDIS_CLUSTER_URL`).
@Suite(.enabled(if: RedisClusterTestServer.shouldRun, "REDIS_CLUSTER_URL not set; run scripts/test"))
struct RedisClusterTests {
    @Test(arguments: SessionStoreConformance.checks)
    func redisStoreConformsOnACluster(_ check: SessionStoreConformance.Check) async throws {
        try await check.run { try RedisClusterTestServer.store() }
    }

    /// The masters serving each of `keys`, after the store has read the slot map.
    private func masters(_ store: RedisStore, _ keys: [SessionKey]) throws -> Set<RedisStore.Endpoint> {
        let router = try #require(store.router as? RedisClusterRouter)
        return Set(
            keys.compactMap { key in
                router.master(forSlot: RedisClusterRouter.slot(of: Array((store.configuration.keyPrefix + key.hex).utf8)))
            }
        )
    }

    @Test func sessionsOfOneOwnerOnAllThreeMastersAreListedAndRevokedTogether() async throws {
        let store = try RedisClusterTestServer.store()
        let owner = "user-\(UUID().uuidString)"
        var keys: [SessionKey] = []
        for _ in 0..<30 {
            let record = SessionRecord(key: SessionToken.generate().key, data: [7], expiresAt: Date() + 600, owner: owner)
            #expect(try await store.save(record, expecting: nil) == .saved(.initial))
            keys.append(record.key)
        }
        #expect(try masters(store, keys).count == 3, "30 random keys land on all three masters")

        let listed = try await store.sessions(of: owner)
        #expect(Set(listed.map(\.record.key)) == Set(keys))
        // Pages of 7 walk the same set.
        var paged: [SessionKey] = []
        var cursor: SessionOwnerCursor?
        repeat {
            let page = try await store.sessions(of: owner, limit: 7, cursor: cursor)
            paged += page.sessions.map(\.record.key)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(paged.count == 30 && Set(paged) == Set(keys))

        let kept = keys[0]
        #expect(try await store.deleteSessions(of: owner, except: kept) == 29)
        for key in keys.dropFirst() { #expect(try await store.load(key) == nil) }
        #expect(try await store.load(kept) != nil)
        #expect(try await store.sessions(of: owner).map(\.record.key) == [kept])
        await store.shutdown()
    }

    @Test func writeWaitsForTheReplicaItAsksFor() async throws {
        var configuration = try RedisClusterTestServer.configuration()
        configuration.minimumReplicaAcknowledgements = 1
        let store = try RedisStore(configuration: configuration)
        // Ten keys, so that writes go to more than one master; each master has its replica.
        for _ in 0..<10 {
            let record = SessionRecord(key: SessionToken.generate().key, data: [3], expiresAt: Date() + 600, owner: nil)
            #expect(try await store.save(record, expecting: nil) == .saved(.initial))
            try await store.touch(record.key, expiresAt: Date() + 900)
            try await store.delete(record.key)
        }
        await store.shutdown()
    }

    @Test func writeThatTooFewReplicasAcknowledgeIsUnavailableOnACluster() async throws {
        // Every master has one replica; two are asked for (as `?wait=2` does).
        var configuration = try RedisClusterTestServer.configuration()
        configuration.minimumReplicaAcknowledgements = 2
        configuration.replicaAcknowledgementTimeout = .milliseconds(50)
        let store = try RedisStore(configuration: configuration)
        let record = SessionRecord(key: SessionToken.generate().key, data: [3], expiresAt: Date() + 600, owner: nil)
        let error = await #expect(throws: SessionStoreError.self) { try await store.save(record, expecting: nil) }
        #expect(error?.code == .unavailable)
        #expect(error?.storeName == "redis")
        let text = String(describing: error)
        #expect(text.contains("only 1 of the 2 replicas asked for (minimumReplicaAcknowledgements)"), "\(text)")
        await store.shutdown()
    }

    /// Finds the node ids and addresses of the masters from `CLUSTER NODES`.
    private func masterIDs(_ admin: RedisStore) async throws -> [RedisStore.Endpoint: String] {
        let reply = try await admin.send(RESPCommand("CLUSTER", "NODES"))
        let text = try #require(reply.string)
        var ids: [RedisStore.Endpoint: String] = [:]
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2, fields[2].contains("master"), !fields[2].contains("fail") else { continue }
            let address = fields[1].split(separator: "@")[0]
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { continue }
            ids[RedisStore.Endpoint(host: String(address[..<colon]), port: port)] = String(fields[0])
        }
        return ids
    }

    @Test func askDuringAMigrationAndMovedAfterItAreFollowed() async throws {
        let store = try RedisClusterTestServer.store()
        let record = SessionRecord(key: SessionToken.generate().key, data: [1], expiresAt: Date() + 600, owner: "ask-\(UUID())")
        #expect(try await store.save(record, expecting: nil) == .saved(.initial))
        let router = try #require(store.router as? RedisClusterRouter)
        let redisKey = store.configuration.keyPrefix + record.key.hex
        let slot = RedisClusterRouter.slot(of: Array(redisKey.utf8))
        let source = try #require(router.master(forSlot: slot))
        let sourceAdmin = try RedisClusterTestServer.node(source)
        let ids = try await masterIDs(sourceAdmin)
        #expect(ids.count == 3)
        let target = try #require(ids.keys.filter { $0 != source }.sorted { $0.port < $1.port }.first)
        let targetAdmin = try RedisClusterTestServer.node(target)
        let sourceID = try #require(ids[source])
        let targetID = try #require(ids[target])

        // Migrate the slot by hand: importing on the target, migrating on the source, the key moved.
        let importing = RESPCommand("CLUSTER", "SETSLOT", .string(String(slot)), "IMPORTING", .string(sourceID))
        #expect(try await targetAdmin.send(importing) == .simpleString("OK"))
        let migrating = RESPCommand("CLUSTER", "SETSLOT", .string(String(slot)), "MIGRATING", .string(targetID))
        #expect(try await sourceAdmin.send(migrating) == .simpleString("OK"))
        let migrated = try await sourceAdmin.send(
            RESPCommand("MIGRATE", .string(target.host), .string(String(target.port)), .string(redisKey), "0", "5000")
        )
        #expect(migrated == .simpleString("OK"))

        // The source answers ASK for the moved key; the store follows it.
        let direct = try await sourceAdmin.send(RESPCommand("HMGET", .string(redisKey), "d"))
        #expect(direct.errorMessage?.hasPrefix("ASK ") == true)
        #expect(try await store.load(record.key)?.record.data == [1])
        var updated = record
        updated.data = [2]
        #expect(try await store.save(updated, expecting: .initial) == .saved(SessionVersion.initial.next))
        #expect(router.master(forSlot: slot) == source, "ASK does not change the map")

        // Finish the migration on every master: now the source answers MOVED and the store follows that.
        for admin in [targetAdmin, sourceAdmin] {
            _ = try await admin.send(RESPCommand("CLUSTER", "SETSLOT", .string(String(slot)), "NODE", .string(targetID)))
        }
        for (endpoint, _) in ids where endpoint != source && endpoint != target {
            let other = try RedisClusterTestServer.node(endpoint)
            _ = try await other.send(RESPCommand("CLUSTER", "SETSLOT", .string(String(slot)), "NODE", .string(targetID)))
            await other.shutdown()
        }
        #expect(try await store.load(record.key)?.record.data == [2])
        #expect(router.master(forSlot: slot) == target, "MOVED updates the map")
        #expect(try await store.sessions(of: record.owner!).map(\.record.key) == [record.key])

        // Move the slot back so the cluster is as it was.
        _ = try await sourceAdmin.send(RESPCommand("CLUSTER", "SETSLOT", .string(String(slot)), "IMPORTING", .string(targetID)))
        _ = try await targetAdmin.send(RESPCommand("CLUSTER", "SETSLOT", .string(String(slot)), "MIGRATING", .string(sourceID)))
        while true {
            let keys = try await targetAdmin.send(RESPCommand("CLUSTER", "GETKEYSINSLOT", .string(String(slot)), "100"))
            guard case .array(let names) = keys, !names.isEmpty else { break }
            for name in names.compactMap(\.string) {
                _ = try await targetAdmin.send(
                    RESPCommand("MIGRATE", .string(source.host), .string(String(source.port)), .string(name), "0", "5000")
                )
            }
        }
        for (endpoint, _) in ids {
            let admin = try RedisClusterTestServer.node(endpoint)
            _ = try await admin.send(RESPCommand("CLUSTER", "SETSLOT", .string(String(slot)), "NODE", .string(sourceID)))
            await admin.shutdown()
        }
        #expect(try await store.load(record.key)?.record.data == [2])
        await sourceAdmin.shutdown()
        await targetAdmin.shutdown()
        await store.shutdown()
    }
}

/// A router that fails chosen commands, to stop an operation between its steps
/// as a crash or a lost connection would.
final class FaultInjectingRouter: RedisRouter {
    enum When: Sendable {
        /// The command is never sent (the process died, or the node was unreachable, before it).
        case beforeSending
        /// The command runs but its reply is lost (the process died, or the connection dropped, after it).
        case afterRunning
    }

    struct InjectedFault: Error {}

    private let wrapped: any RedisRouter
    private let rule = Mutex<(script: RedisScript, when: When, skip: Int)?>(nil)

    init(wrapping wrapped: any RedisRouter) {
        self.wrapped = wrapped
    }

    /// Fails a run of `script` once: the next one, or the one after `skipping` runs.
    func failNext(_ script: RedisScript, _ when: When, skipping: Int = 0) {
        rule.withLock { $0 = (script, when, skipping) }
    }

    private func fault(for command: RESPCommand) -> When? {
        rule.withLock { rule in
            guard let current = rule, command.name == "EVALSHA" || command.name == "EVAL" else { return nil }
            let text = String(buffer: command.encoded)
            guard text.contains(current.script.sha1) || text.contains(current.script.source) else { return nil }
            if current.skip > 0 {
                rule = (current.script, current.when, current.skip - 1)
                return nil
            }
            rule = nil
            return current.when
        }
    }

    func send(_ command: RESPCommand, durable: Bool) async throws -> RESPValue {
        switch fault(for: command) {
        case .beforeSending: throw InjectedFault()
        case .afterRunning:
            _ = try await wrapped.send(command, durable: durable)
            throw InjectedFault()
        case nil: return try await wrapped.send(command, durable: durable)
        }
    }

    func send(_ commands: [RESPCommand], durable: Bool) async throws -> [RESPValue] {
        var replies: [RESPValue] = []
        for command in commands { replies.append(try await send(command, durable: durable)) }
        return replies
    }

    func shutdown() async { await wrapped.shutdown() }
    func closeAll() { wrapped.closeAll() }
}

/// Operations stopped between their steps on a cluster: the owner index may keep
/// a member without a session, never lose a live session.
@Suite(.enabled(if: RedisClusterTestServer.shouldRun, "REDIS_CLUSTER_URL not set; run scripts/test"))
struct RedisClusterFailureOrderTests {
    private func faultyStore() throws -> (RedisStore, FaultInjectingRouter) {
        final class Box: Sendable {
            let router = Mutex<FaultInjectingRouter?>(nil)
        }
        let box = Box()
        let store = try RedisClusterTestServer.store { router in
            let faulty = FaultInjectingRouter(wrapping: router)
            box.router.withLock { $0 = faulty }
            return faulty
        }
        return (store, try #require(box.router.withLock { $0 }))
    }

    private func record(_ owner: String) -> SessionRecord {
        SessionRecord(key: SessionToken.generate().key, data: [1, 2], expiresAt: Date() + 600, owner: owner)
    }

    /// The members of an owner's index, read straight from the cluster.
    private func indexMembers(_ store: RedisStore, _ owner: String) async throws -> Set<String> {
        let keys = store.clusterIndexKeys(RedisStore.ownerDigest(owner))
        let reply = try await store.send(RESPCommand("ZRANGE", keys[0], "0", "-1"))
        guard case .array(let values) = reply else { throw TestFailure("ZRANGE answered \(reply)") }
        return Set(values.compactMap(\.string))
    }

    @Test(arguments: [FaultInjectingRouter.When.beforeSending, .afterRunning])
    func saveStoppedAfterIndexingLeavesAtMostAMemberThatListingDrops(_ when: FaultInjectingRouter.When) async throws {
        let (store, faults) = try faultyStore()
        let owner = "save-\(UUID())"
        let session = record(owner)
        faults.failNext(.clusterSave, when)
        await #expect(throws: SessionStoreError.self) { try await store.save(session, expecting: nil) }
        #expect(try await indexMembers(store, owner) == [session.key.hex], "the index is written first")
        // Not live either way: never written, or written pending and never made live.
        #expect(try await store.load(session.key) == nil)
        #expect(try await store.sessions(of: owner).isEmpty)
        if when == .beforeSending {
            #expect(try await indexMembers(store, owner).isEmpty, "listing drops the member without a session")
        }
        // The key can be saved again, and is then live and listed.
        #expect(try await store.save(session, expecting: nil) == .saved(.initial))
        #expect(try await store.sessions(of: owner).map(\.record.key) == [session.key])
        await store.shutdown()
    }

    @Test(arguments: [FaultInjectingRouter.When.beforeSending, .afterRunning])
    func bindingSaveStoppedBeforeItsSecondIndexingOrItsUnpendingLeavesNoLiveUnlistedSession(
        _ when: FaultInjectingRouter.When
    ) async throws {
        for (script, skipping) in [(RedisScript.clusterIndexAdd, 1), (RedisScript.clusterUnpend, 0)] {
            let (store, faults) = try faultyStore()
            let owner = "bind-\(UUID())"
            let session = record(owner)
            faults.failNext(script, when, skipping: skipping)
            await #expect(throws: SessionStoreError.self) { try await store.save(session, expecting: nil) }
            let live = try await store.load(session.key)
            let listed = try await store.sessions(of: owner).map(\.record.key)
            if live != nil {
                #expect(listed == [session.key], "a live session is listed")
            } else {
                #expect(listed.isEmpty)
            }
            // Only the unpending that ran with its reply lost can have made it live.
            #expect((live != nil) == (script == .clusterUnpend && when == .afterRunning))
            await store.shutdown()
        }
    }

    @Test func sameOwnerUpdateStoppedAfterIndexingKeepsTheSessionListed() async throws {
        let (store, faults) = try faultyStore()
        let owner = "update-\(UUID())"
        var session = record(owner)
        #expect(try await store.save(session, expecting: nil) == .saved(.initial))
        session.data = [9]
        session.expiresAt = Date() + 1200
        faults.failNext(.clusterSave, .beforeSending)
        await #expect(throws: SessionStoreError.self) { try await store.save(session, expecting: .initial) }
        #expect(try await store.load(session.key)?.record.data == [1, 2])
        #expect(try await store.sessions(of: owner).map(\.record.key) == [session.key])
        await store.shutdown()
    }

    @Test func saveStoppedBeforeIndexingWritesNoSession() async throws {
        let (store, faults) = try faultyStore()
        let owner = "index-\(UUID())"
        let session = record(owner)
        faults.failNext(.clusterIndexAdd, .beforeSending)
        await #expect(throws: SessionStoreError.self) { try await store.save(session, expecting: nil) }
        #expect(try await store.load(session.key) == nil)
        #expect(try await store.sessions(of: owner).isEmpty)
        await store.shutdown()
    }

    @Test func deleteStoppedBeforeDroppingTheMemberLeavesAMemberThatListingDrops() async throws {
        let (store, faults) = try faultyStore()
        let owner = "delete-\(UUID())"
        let session = record(owner)
        #expect(try await store.save(session, expecting: nil) == .saved(.initial))
        faults.failNext(.clusterIndexRemove, .beforeSending)
        try await store.delete(session.key)
        #expect(try await store.load(session.key) == nil)
        #expect(try await indexMembers(store, owner) == [session.key.hex], "the member outlived its session")
        #expect(try await store.sessions(of: owner).isEmpty)
        #expect(try await indexMembers(store, owner).isEmpty)
        await store.shutdown()
    }

    @Test func ownerChangeStoppedBeforeLeavingTheOldIndexListsTheSessionUnderTheNewOwnerOnly() async throws {
        let (store, faults) = try faultyStore()
        let old = "old-\(UUID())"
        let new = "new-\(UUID())"
        var session = record(old)
        #expect(try await store.save(session, expecting: nil) == .saved(.initial))
        session.owner = new
        faults.failNext(.clusterIndexRemove, .beforeSending)
        #expect(try await store.save(session, expecting: .initial) == .saved(SessionVersion.initial.next))
        #expect(try await store.sessions(of: new).map(\.record.key) == [session.key])
        #expect(try await store.sessions(of: old).isEmpty)
        #expect(try await store.deleteSessions(of: old, except: nil) == 0)
        #expect(try await store.load(session.key) != nil, "revoking the old owner leaves the new owner's session")
        await store.shutdown()
    }

    @Test(arguments: [FaultInjectingRouter.When.beforeSending, .afterRunning])
    func touchStoppedAfterExtendingTheIndexKeepsTheSessionListed(_ when: FaultInjectingRouter.When) async throws {
        let (store, faults) = try faultyStore()
        let owner = "touch-\(UUID())"
        let session = record(owner)
        #expect(try await store.save(session, expecting: nil) == .saved(.initial))
        faults.failNext(.clusterTouch, when)
        await #expect(throws: SessionStoreError.self) { try await store.touch(session.key, expiresAt: Date() + 3600) }
        #expect(try await store.sessions(of: owner).map(\.record.key) == [session.key])
        // The index lasts at least as long as the session, whichever expiry it kept.
        let sessionExpiry = try await store.send(RESPCommand("PEXPIRETIME", store.redisKey(session.key)))
        let indexExpiry = try await store.send(RESPCommand("PEXPIRETIME", store.clusterIndexKeys(RedisStore.ownerDigest(owner))[0]))
        guard case .integer(let sessionAt) = sessionExpiry, case .integer(let indexAt) = indexExpiry else {
            throw TestFailure("PEXPIRETIME answered \(sessionExpiry) and \(indexExpiry)")
        }
        #expect(indexAt >= sessionAt)
        await store.shutdown()
    }

    @Test func revokeStoppedBeforeDroppingMembersDeletedTheSessionsAndFinishesNextTime() async throws {
        let (store, faults) = try faultyStore()
        let owner = "revoke-\(UUID())"
        var keys: [SessionKey] = []
        for _ in 0..<5 {
            let session = record(owner)
            _ = try await store.save(session, expecting: nil)
            keys.append(session.key)
        }
        faults.failNext(.clusterIndexRemove, .beforeSending)
        await #expect(throws: SessionStoreError.self) { try await store.deleteSessions(of: owner, except: nil) }
        for key in keys { #expect(try await store.load(key) == nil) }
        #expect(try await indexMembers(store, owner).count == 5, "members outlived their sessions")
        #expect(try await store.deleteSessions(of: owner, except: nil) == 0)
        #expect(try await indexMembers(store, owner).isEmpty)
        await store.shutdown()
    }
}
#endif  // Redis
