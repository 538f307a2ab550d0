#if Redis
import Crypto
public import SessionKit

extension RedisStore: SessionOwnerIndex {
    /// The live sessions saved with `owner`, page by page.
    ///
    /// - Warning: O(sessions of the owner) in all; each page is a bounded script
    ///   and a pipelined read (see ``sessions(of:limit:cursor:)``), so Redis
    ///   serves other clients between pages.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: The owner's live records with their versions.
    /// - Throws: ``SessionKit/SessionStoreError`` as for ``load(_:)``.
    public func sessions(of owner: String) async throws -> [StoredSession] {
        try await allSessions(of: owner)
    }

    /// One page of the live sessions saved with `owner`, in key order, in two round trips.
    ///
    /// A script reads at most `limit` members of the owner's sorted set after the
    /// cursor (`ZRANGE … BYLEX LIMIT`, O(log n + limit)), checks each member's
    /// record on the server and removes the members whose records expired, were
    /// deleted or moved to another owner; then one pipelined `HMGET` per live
    /// member reads the records. A record that changes between the two is
    /// checked again: one that expired, was deleted or moved meanwhile is left out.
    /// While an owner set written before paging (a plain set) is moved into the
    /// sorted set, a page's worth per call, the walk restarts after each page, so
    /// a session may then be listed twice, never missed.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - limit: The most members to read, clamped to 1 to ``SessionKit/SessionOwnerPage/maximumLimit``.
    ///   - cursor: `nil`, or the previous page's cursor.
    /// - Returns: The page.
    /// - Throws: ``SessionKit/SessionStoreError`` as for ``load(_:)``.
    public func sessions(of owner: String, limit: Int, cursor: SessionOwnerCursor?) async throws -> SessionOwnerPage {
        if isCluster { return try await clusterSessions(of: owner, limit: limit, cursor: cursor) }
        let digest = Self.ownerDigest(owner)
        let now = Self.milliseconds(clock.now())
        let limit = SessionOwnerPage.clamped(limit)
        let reply = try await evaluate(
            .ownerSessionsPage,
            keys: [ownerSetKey(digest), .string(plainOwnerSetKeyPrefix + digest)],
            arguments: [
                .string(configuration.keyPrefix),
                .string(digest),
                .string(String(now)),
                .string(cursor?.rawValue ?? ""),
                .string(String(limit)),
            ]
        )
        guard case .array(let parts) = reply, parts.count == 2, let next = parts[0].string, case .array(let members) = parts[1] else {
            throw unexpectedReply(reply, command: "EVALSHA")
        }
        // Members are written only by the store's scripts; anything else is not a session.
        let keys = members.compactMap { $0.string.flatMap { SessionKey(hex: $0) } }
        var replies: [RESPValue] = []
        if !keys.isEmpty { replies = try await send(keys.map(loadCommand)) }
        var sessions: [StoredSession] = []
        sessions.reserveCapacity(keys.count)
        for (key, reply) in zip(keys, replies) {
            guard let session = try storedSession(key, from: reply, now: now), session.record.owner == owner else { continue }
            sessions.append(session)
        }
        return SessionOwnerPage(sessions: sessions, nextCursor: next.isEmpty ? nil : SessionOwnerCursor(next))
    }

    /// Deletes every session saved with `owner` except the one under `key`, page by page.
    ///
    /// - Warning: O(sessions of the owner) in all; each step is one bounded
    ///   script (see ``deleteSessions(of:except:limit:)``).
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil` to delete them all.
    /// - Returns: How many live sessions were deleted.
    /// - Throws: ``SessionKit/SessionStoreError`` as for ``load(_:)``.
    @discardableResult
    public func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int {
        try await deleteAllSessions(of: owner, except: key)
    }

    /// Deletes at most `limit` sessions saved with `owner`, except the one under
    /// `key`, in one round trip: a script over at most `limit + 1` members of the
    /// owner's sorted set, O(log n + limit).
    ///
    /// It deletes only records still saved with this owner; members that point
    /// elsewhere just leave the set.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil`.
    ///   - limit: The most members to visit, clamped to 1 to ``SessionKit/SessionOwnerPage/maximumLimit``.
    /// - Returns: How many live sessions were deleted (records found expired are
    ///   removed too but not counted), and whether the owner's set holds others.
    /// - Throws: ``SessionKit/SessionStoreError`` as for ``load(_:)``.
    public func deleteSessions(of owner: String, except key: SessionKey?, limit: Int) async throws -> SessionOwnerDeletion {
        if isCluster { return try await clusterDeleteSessions(of: owner, except: key, limit: limit) }
        let digest = Self.ownerDigest(owner)
        let reply = try await evaluate(
            .deleteOwnerSessionsPage,
            keys: [ownerSetKey(digest), .string(plainOwnerSetKeyPrefix + digest)],
            arguments: [
                .string(configuration.keyPrefix),
                .string(digest),
                .string(String(Self.milliseconds(clock.now()))),
                .string(key?.hex ?? ""),
                .string(String(SessionOwnerPage.clamped(limit))),
            ]
        )
        guard case .array(let parts) = reply, parts.count == 2, case .integer(let deleted) = parts[0], case .integer(let more) = parts[1] else {
            throw unexpectedReply(reply, command: "EVALSHA")
        }
        return SessionOwnerDeletion(deleted: Int(deleted), hasMore: more != 0)
    }

    // MARK: - Keys

    /// The start of every owner set's key: `<keyPrefix>owners:`.
    ///
    /// Session keys are the prefix and 64 hexadecimal digits, so no session key
    /// can be mistaken for an owner set. An owner set is a sorted set whose
    /// members all have score 0, so `ZRANGE … BYLEX LIMIT` pages it by key.
    var ownerSetKeyPrefix: String {
        configuration.keyPrefix + "owners:"
    }

    /// The start of the keys of the plain sets that indexed owners before paging,
    /// `<keyPrefix>owner:`; the scripts move their members into the sorted sets.
    var plainOwnerSetKeyPrefix: String {
        configuration.keyPrefix + "owner:"
    }

    /// The key of the sorted set of an owner's session keys.
    ///
    /// - Parameter digest: The owner's ``ownerDigest(_:)``.
    func ownerSetKey(_ digest: String) -> RESPCommand.Argument {
        .string(ownerSetKeyPrefix + digest)
    }

    /// The hexadecimal SHA-256 of an owner id: it names the owner's set, so that
    /// key names have a fixed length and do not show the owner id.
    static func ownerDigest(_ owner: String) -> String {
        hexadecimal(SHA256.hash(data: Array(owner.utf8)))
    }
}
#endif  // Redis
