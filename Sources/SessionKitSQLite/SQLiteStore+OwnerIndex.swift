#if SQLite
import SQLiteNIO
public import SessionKit

extension SQLiteStore: SessionOwnerIndex {
    /// The live sessions saved with `owner`, page by page.
    ///
    /// - Warning: O(sessions of the owner); each page is one bounded `SELECT`
    ///   (see ``sessions(of:limit:cursor:)``), so other calls get the single
    ///   connection between pages.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: The owner's live records with their versions.
    /// - Throws: ``SessionKit/SessionStoreError`` as ``sessions(of:limit:cursor:)``.
    public func sessions(of owner: String) async throws -> [StoredSession] {
        try await allSessions(of: owner)
    }

    /// One page of the live sessions saved with `owner`, in id order: one
    /// `SELECT` that reads at most `limit` rows of the owner index.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - limit: The most rows to read, clamped to 1 to ``SessionKit/SessionOwnerPage/maximumLimit``;
    ///     expired rows among them are left out (the sweep deletes them), so a
    ///     page may hold fewer.
    ///   - cursor: `nil`, or the previous page's cursor (the last id read).
    /// - Returns: The page. Unreadable rows are left out, logged at `warning`
    ///   and deleted, as by ``load(_:)``.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database
    ///   cannot be read or the store is closed.
    public func sessions(of owner: String, limit: Int, cursor: SessionOwnerCursor?) async throws -> SessionOwnerPage {
        let now = try milliseconds(clock.now())
        let limit = SessionOwnerPage.clamped(limit)
        let rows = try await query(
            "list an owner's sessions",
            statements.ownerSessions,
            [.text(owner), .text(cursor?.rawValue ?? ""), .integer(SQLiteInt64(limit))]
        )
        var sessions: [StoredSession] = []
        sessions.reserveCapacity(rows.count)
        var last: String?
        for row in rows {
            guard case .text(let hex)? = row.column("id") else { continue }
            last = hex
            // Ids are written only by this store; a row under another id is not a session.
            guard let key = SessionKey(hex: hex) else { continue }
            guard case .integer(let expiresAt)? = row.column("expires_at"), Int64(expiresAt) > now else { continue }
            guard let session = Self.storedSession(key, from: row) else {
                try await deleteUnreadable(key)
                continue
            }
            sessions.append(session)
        }
        let next = rows.count == limit ? last.map(SessionOwnerCursor.init) : nil
        return SessionOwnerPage(sessions: sessions, nextCursor: next)
    }

    /// Deletes every session saved with `owner` except the one under `key`, page by page.
    ///
    /// - Warning: O(sessions of the owner); each step is one bounded `DELETE`
    ///   (see ``deleteSessions(of:except:limit:)``).
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil` to delete them all.
    /// - Returns: How many live sessions were deleted.
    /// - Throws: ``SessionKit/SessionStoreError`` as ``deleteSessions(of:except:limit:)``.
    @discardableResult
    public func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int {
        try await deleteAllSessions(of: owner, except: key)
    }

    /// Deletes at most `limit` rows saved with `owner`, except the one under
    /// `key`, with one `DELETE` on the owner index.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil`.
    ///   - limit: The most rows to delete, clamped to 1 to ``SessionKit/SessionOwnerPage/maximumLimit``.
    /// - Returns: How many live sessions were deleted (the owner's expired rows
    ///   are deleted too but not counted), and whether more rows may remain.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database
    ///   cannot be written or the store is closed.
    public func deleteSessions(of owner: String, except key: SessionKey?, limit: Int) async throws -> SessionOwnerDeletion {
        let now = try milliseconds(clock.now())
        let limit = SessionOwnerPage.clamped(limit)
        let rows = try await query(
            "delete an owner's sessions",
            statements.deleteOwnerSessions,
            [.text(owner), key.map { .text($0.hex) } ?? .null, .integer(SQLiteInt64(limit))]
        )
        let deleted = rows.count { row in
            guard case .integer(let expiresAt)? = row.column("expires_at") else { return false }
            return Int64(expiresAt) > now
        }
        return SessionOwnerDeletion(deleted: deleted, hasMore: rows.count == limit)
    }
}
#endif  // SQLite
