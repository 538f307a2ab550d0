#if Redis
import Logging
import SessionKit

/// The store's operations on a Redis Cluster.
///
/// A session's hash and its owner's index are on different slots, so each
/// operation is a few single-slot scripts run in an order that keeps one
/// invariant through any crash, failed step or concurrent operation: **every
/// live session is in its owner's index**. What can be left behind is an
/// index member whose session is gone (listing skips it and drops it) or a
/// record still *pending* (not live), never a live session its owner's index
/// lacks, which could then be neither listed nor revoked:
///
/// - save: index the key under the new owner (stamp ≥ the new expiry), *then*
///   write the session, pending when it binds the key to an owner it was not
///   live under; for a pending one, index the key again and *then* make it
///   live; last, drop the key from the previous owner's index, only while that
///   member's stamp is at most the replaced record's expiry.
/// - touch: read the owner, extend its index to the new expiry, *then* move the
///   session's expiry, only if its owner is still that one (else again).
/// - delete and revoke: delete the session, *then* drop the index member.
///
/// ARCHITECTURE.md ("Redis Cluster: routing and the owner index") gives the argument.
extension RedisStore {
    /// An owner's two index sets, on one slot: session keys scored 0, and the same keys scored with their stamps.
    func clusterIndexKeys(_ digest: String) -> [RESPCommand.Argument] {
        let base = ownerSetKeyPrefix + "{" + digest + "}"
        return [.string(base), .string(base + ":e")]
    }

    func clusterSave(
        _ record: SessionRecord,
        expecting version: SessionVersion?,
        newVersion: SessionVersion,
        expiry: Int64,
        digest: String?
    ) async throws(SessionStoreError) -> SessionSaveResult {
        let now = Self.milliseconds(clock.now())
        // 1. The index first: from here on, the session may be written.
        if let digest, expiry > now {
            _ = try await evaluate(
                .clusterIndexAdd,
                keys: clusterIndexKeys(digest),
                arguments: [.string(record.key.hex), .string(String(expiry)), .string(String(now))],
                durable: true
            )
        }
        // 2. The session.
        let reply = try await evaluate(
            .clusterSave,
            keys: [redisKey(record.key)],
            arguments: [
                .string(version.map { String($0.rawValue) } ?? ""),
                .string(String(newVersion.rawValue)),
                .bytes(record.data),
                .string(String(expiry)),
                .string(String(now)),
                .string(record.owner ?? ""),
                .string(digest ?? ""),
            ],
            durable: true
        )
        guard case .array(let parts) = reply, parts.count == 4, case .integer(let written) = parts[0],
            let previous = parts[1].string, let previousExpiry = parts[2].string, case .integer(let pending) = parts[3]
        else {
            throw unexpectedReply(reply, command: "EVALSHA")
        }
        guard written == 1 else { return .conflict }
        if pending == 1, let digest, expiry > now {
            // 3. A new binding was written pending (not live): index the key again,
            // now that the record exists, then make it live.
            _ = try await evaluate(
                .clusterIndexAdd,
                keys: clusterIndexKeys(digest),
                arguments: [.string(record.key.hex), .string(String(expiry)), .string(String(now))],
                durable: true
            )
            let unpended = try await evaluate(
                .clusterUnpend,
                keys: [redisKey(record.key)],
                arguments: [.string(String(newVersion.rawValue))],
                durable: true
            )
            guard case .integer(let live) = unpended else { throw unexpectedReply(unpended, command: "EVALSHA") }
            // Deleted or replaced meanwhile: this save did not last.
            if live == 0 { return .conflict }
        }
        // 4. The previous owner's index, once the session no longer names it.
        if !previous.isEmpty, previous != digest, Int64(previousExpiry) != nil {
            await dropIndexMembers(previous, [(record.key.hex, previousExpiry)], after: "save")
        }
        return .saved(newVersion)
    }

    func clusterTouch(_ key: SessionKey, expiry: Int64) async throws(SessionStoreError) {
        let now = Self.milliseconds(clock.now())
        // Read the owner so that its index is extended before the session is.
        let owner = try await send(RESPCommand("HGET", redisKey(key), "i"))
        var expected = owner.string ?? ""
        for _ in 0..<3 {
            if !expected.isEmpty, expiry > now {
                _ = try await evaluate(
                    .clusterIndexAdd,
                    keys: clusterIndexKeys(expected),
                    arguments: [.string(key.hex), .string(String(expiry)), .string(String(now))],
                    durable: true
                )
            }
            let reply = try await evaluate(
                .clusterTouch,
                keys: [redisKey(key)],
                arguments: [.string(String(expiry)), .string(String(now)), .string(expected)],
                durable: true
            )
            guard case .array(let parts) = reply, parts.count == 2, case .integer(let status) = parts[0], let digest = parts[1].string else {
                throw unexpectedReply(reply, command: "EVALSHA")
            }
            // Saved meanwhile under another owner: index under that one, then try again.
            guard status == 2 else { return }
            expected = digest
        }
        throw SessionStoreError(
            code: .unavailable,
            storeName: name,
            message: "the session's owner changed three times while it was being touched; try again"
        )
    }

    func clusterDelete(_ key: SessionKey) async throws(SessionStoreError) {
        let reply = try await evaluate(.clusterDelete, keys: [redisKey(key)], arguments: [], durable: true)
        guard case .array(let parts) = reply, parts.count == 3, case .integer = parts[0],
            let digest = parts[1].string, let expiry = parts[2].string
        else {
            throw unexpectedReply(reply, command: "EVALSHA")
        }
        // The session is gone: its index member may go too.
        if !digest.isEmpty, Int64(expiry) != nil {
            await dropIndexMembers(digest, [(key.hex, expiry)], after: "delete")
        }
    }

    /// Drops members from an owner's index after the operation succeeded; a
    /// failure only leaves members without sessions, which listing drops later.
    private func dropIndexMembers(_ digest: String, _ members: [(hex: String, bound: String)], after operation: String) async {
        do {
            _ = try await evaluate(
                .clusterIndexRemove,
                keys: clusterIndexKeys(digest),
                arguments: [.string("")] + members.flatMap { [RESPCommand.Argument.string($0.hex), .string($0.bound)] }
            )
        } catch {
            clusterLogger.notice(
                "Could not drop a session from its owner's index; listing the owner will",
                metadata: ["sessionkit.store": "\(name)", "sessionkit.operation": "\(operation)", "sessionkit.error": "\(error)"]
            )
        }
    }

    private var clusterLogger: Logger { Logger(label: "sessionkit.redis") }

    /// One page of the index (one script), then the members' records read with
    /// one pipelined `HMGET` per node; members whose record is gone are dropped,
    /// each only if its stamp is unchanged since the page was read.
    func clusterSessions(of owner: String, limit: Int, cursor: SessionOwnerCursor?) async throws(SessionStoreError) -> SessionOwnerPage {
        let digest = Self.ownerDigest(owner)
        let now = Self.milliseconds(clock.now())
        let (next, members) = try await clusterIndexPage(digest, now: now, cursor: cursor?.rawValue ?? "", limit: SessionOwnerPage.clamped(limit))
        let keys = members.compactMap { member in SessionKey(hex: member.hex).map { ($0, member.stamp) } }
        var replies: [RESPValue] = []
        if !keys.isEmpty { replies = try await send(keys.map { loadCommand($0.0) }) }
        var sessions: [StoredSession] = []
        var gone: [(hex: String, bound: String)] = []
        for ((key, stamp), reply) in zip(keys, replies) {
            if let session = try storedSession(key, from: reply, now: now), session.record.owner == owner {
                sessions.append(session)
            } else if case .array(let fields) = reply, fields.allSatisfy({ $0 == .null }) {
                gone.append((key.hex, stamp))
            }
        }
        if !gone.isEmpty { await dropIndexMembers(digest, gone, after: "listing") }
        return SessionOwnerPage(sessions: sessions, nextCursor: next.isEmpty ? nil : SessionOwnerCursor(next))
    }

    /// Deletes the sessions of one page of the index (first page), then drops the
    /// visited members, each only if its stamp is unchanged since the page was read.
    func clusterDeleteSessions(of owner: String, except key: SessionKey?, limit: Int) async throws(SessionStoreError) -> SessionOwnerDeletion {
        let digest = Self.ownerDigest(owner)
        let now = Self.milliseconds(clock.now())
        let limit = SessionOwnerPage.clamped(limit)
        let (_, page) = try await clusterIndexPage(digest, now: now, cursor: "", limit: limit + 1)
        let visited = Array(page.filter { $0.hex != key?.hex }.prefix(limit))
        let targets = visited.compactMap { member in SessionKey(hex: member.hex) }
        var deleted = 0
        if !targets.isEmpty {
            let replies = try await evaluateEach(
                .clusterDeleteIfOwned,
                keys: targets.map { [redisKey($0)] },
                arguments: [.string(digest), .string(String(now))]
            )
            for reply in replies {
                guard case .integer(let live) = reply else { throw unexpectedReply(reply, command: "EVALSHA") }
                deleted += Int(live)
            }
        }
        let reply = try await evaluate(
            .clusterIndexRemove,
            keys: clusterIndexKeys(digest),
            arguments: [.string(key?.hex ?? "")] + visited.flatMap { [RESPCommand.Argument.string($0.hex), .string($0.stamp)] }
        )
        guard case .integer(let left) = reply else { throw unexpectedReply(reply, command: "EVALSHA") }
        return SessionOwnerDeletion(deleted: deleted, hasMore: left > 0)
    }

    private func clusterIndexPage(
        _ digest: String,
        now: Int64,
        cursor: String,
        limit: Int
    ) async throws(SessionStoreError) -> (next: String, members: [(hex: String, stamp: String)]) {
        let reply = try await evaluate(
            .clusterOwnerPage,
            keys: clusterIndexKeys(digest),
            arguments: [.string(String(now)), .string(cursor), .string(String(limit))]
        )
        guard case .array(let parts) = reply, parts.count == 3, let next = parts[0].string,
            case .array(let members) = parts[1], case .array(let stamps) = parts[2], members.count == stamps.count
        else {
            throw unexpectedReply(reply, command: "EVALSHA")
        }
        var page: [(hex: String, stamp: String)] = []
        for (member, stamp) in zip(members, stamps) {
            guard let hex = member.string, let stamp = stamp.string else { continue }
            page.append((hex, stamp))
        }
        return (next, page)
    }

    /// Runs one writing script on many single-key sets of keys, pipelined per
    /// node and confirmed by a replica; those the server does not have cached
    /// run again with `EVAL`.
    func evaluateEach(
        _ script: RedisScript,
        keys: [[RESPCommand.Argument]],
        arguments: [RESPCommand.Argument]
    ) async throws(SessionStoreError) -> [RESPValue] {
        let commands = keys.map { keys in
            RESPCommand("EVALSHA", [.string(script.sha1), .string(String(keys.count))] + keys + arguments)
        }
        var replies = try await send(commands, durable: true)
        for (index, reply) in replies.enumerated() {
            guard case .error(let message) = reply else { continue }
            guard message.hasPrefix("NOSCRIPT") else { throw replyError(message, command: "EVALSHA") }
            replies[index] = try await evaluate(script, keys: keys[index], arguments: arguments, durable: true)
        }
        return replies
    }
}
#endif  // Redis
