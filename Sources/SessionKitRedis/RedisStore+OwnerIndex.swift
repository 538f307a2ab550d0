#if Redis
import Crypto
public import SessionKit

extension RedisStore: SessionOwnerIndex {
    /// The live sessions saved with `owner`, in two round trips.
    ///
    /// A script reads the owner's set, checks each member's record on the server
    /// and removes the members whose records expired, were deleted or moved to
    /// another owner; then one pipelined `HMGET` per live member reads the records.
    /// A record that changes between the two is checked again: one that expired,
    /// was deleted or moved to another owner meanwhile is left out.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: The owner's live records with their versions, in no particular order.
    /// - Throws: ``SessionKit/SessionStoreError`` as for ``load(_:)``.
    public func sessions(of owner: String) async throws -> [StoredSession] {
        let digest = Self.ownerDigest(owner)
        let now = Self.milliseconds(clock.now())
        let reply = try await evaluate(
            .ownerSessions,
            keys: [ownerSetKey(digest)],
            arguments: [.string(configuration.keyPrefix), .string(digest), .string(String(now))]
        )
        guard case .array(let members) = reply else { throw unexpectedReply(reply, command: "EVALSHA") }
        // Members are written only by the store's scripts; anything else is not a session.
        let keys = members.compactMap { $0.string.flatMap { SessionKey(hex: $0) } }
        let replies = try await send(keys.map(loadCommand))
        var sessions: [StoredSession] = []
        sessions.reserveCapacity(keys.count)
        for (key, reply) in zip(keys, replies) {
            guard let session = try storedSession(key, from: reply, now: now), session.record.owner == owner else { continue }
            sessions.append(session)
        }
        return sessions
    }

    /// Deletes every session saved with `owner` except the one under `key`, in one
    /// round trip.
    ///
    /// A script deletes the records in the owner's set, except `key`, and removes
    /// them from the set. It deletes only records still saved with this owner.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil` to delete them all.
    /// - Returns: How many live sessions were deleted; records found expired are
    ///   removed too but not counted.
    /// - Throws: ``SessionKit/SessionStoreError`` as for ``load(_:)``.
    @discardableResult
    public func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int {
        let digest = Self.ownerDigest(owner)
        let reply = try await evaluate(
            .deleteOwnerSessions,
            keys: [ownerSetKey(digest)],
            arguments: [
                .string(configuration.keyPrefix),
                .string(digest),
                .string(String(Self.milliseconds(clock.now()))),
                .string(key?.hex ?? ""),
            ]
        )
        guard case .integer(let deleted) = reply else { throw unexpectedReply(reply, command: "EVALSHA") }
        return Int(deleted)
    }

    // MARK: - Keys

    /// The start of every owner set's key: `<keyPrefix>owner:`.
    ///
    /// Session keys are the prefix and 64 hexadecimal digits, so no session key
    /// can be mistaken for an owner set.
    var ownerSetKeyPrefix: String {
        configuration.keyPrefix + "owner:"
    }

    /// The key of the set of an owner's session keys.
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
