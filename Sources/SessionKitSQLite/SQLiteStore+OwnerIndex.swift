#if SQLite
import SQLiteNIO
public import SessionKit

extension SQLiteStore: SessionOwnerIndex {
    /// The live sessions saved with `owner`, with one `SELECT` on the owner index.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: The owner's live records with their versions, in no particular
    ///   order. Unreadable rows are left out, logged at `warning` and deleted, as
    ///   by ``load(_:)``.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database
    ///   cannot be read or the store is closed.
    public func sessions(of owner: String) async throws -> [StoredSession] {
        let now = try milliseconds(clock.now())
        let rows = try await query(
            "list an owner's sessions",
            statements.ownerSessions,
            [.text(owner), .integer(SQLiteInt64(now))]
        )
        var sessions: [StoredSession] = []
        sessions.reserveCapacity(rows.count)
        for row in rows {
            // Ids are written only by this store; a row under another id is not a session.
            guard case .text(let hex)? = row.column("id"), let key = SessionKey(hex: hex) else { continue }
            guard let session = Self.storedSession(key, from: row) else {
                try await deleteUnreadable(key)
                continue
            }
            sessions.append(session)
        }
        return sessions
    }

    /// Deletes every session saved with `owner` except the one under `key`, with
    /// one `DELETE` on the owner index.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil` to delete them all.
    /// - Returns: How many live sessions were deleted; the owner's expired rows
    ///   are deleted too but not counted.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database
    ///   cannot be written or the store is closed.
    @discardableResult
    public func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int {
        let now = try milliseconds(clock.now())
        let rows = try await query(
            "delete an owner's sessions",
            statements.deleteOwnerSessions,
            [.text(owner), key.map { .text($0.hex) } ?? .null]
        )
        return rows.count { row in
            guard case .integer(let expiresAt)? = row.column("expires_at") else { return false }
            return Int64(expiresAt) > now
        }
    }
}
#endif  // SQLite
