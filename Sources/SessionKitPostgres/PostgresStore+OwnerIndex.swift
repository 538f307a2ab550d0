#if Postgres
import Foundation
import NIOCore
import PostgresNIO
public import SessionKit

extension PostgresStore: SessionOwnerIndex {
    /// The live sessions saved with `owner`, page by page.
    ///
    /// - Warning: O(sessions of the owner); each page is one bounded query
    ///   (see ``sessions(of:limit:cursor:)``).
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: The owner's live records and their versions.
    /// - Throws: ``SessionKit/SessionStoreError`` as ``sessions(of:limit:cursor:)``.
    public func sessions(of owner: String) async throws -> [StoredSession] {
        try await allSessions(of: owner)
    }

    /// One page of the live sessions saved with `owner`, in id order: one query
    /// that reads at most `limit` entries of the `(owner, id)` index.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - limit: The most rows to read, clamped to 1 to ``SessionKit/SessionOwnerPage/maximumLimit``;
    ///     expired rows among them are left out (the sweep deletes them), so a
    ///     page may hold fewer.
    ///   - cursor: `nil`, or the previous page's cursor (the last id read).
    /// - Returns: The page.
    /// - Throws: ``SessionKit/SessionStoreError`` when the database fails or does
    ///   not answer within ``Configuration/operationTimeout``.
    public func sessions(of owner: String, limit: Int, cursor: SessionOwnerCursor?) async throws -> SessionOwnerPage {
        try await prepare()
        let limit = SessionOwnerPage.clamped(limit)
        let now = clock.now()
        let query = schema.sessions(of: owner, after: cursor?.rawValue ?? "", limit: limit)
        let rows = try await withConnection("list an owner's sessions") { [logger] connection in
            let rows = try await connection.query(query, logger: logger)
            var found: [(String, ByteBuffer, Int64, Date)] = []
            for try await columns in rows.decode((String, ByteBuffer, Int64, Date).self) {
                found.append(columns)
            }
            return found
        }
        let sessions: [StoredSession] = rows.compactMap { id, data, version, expiresAt in
            // A row this store did not write (a malformed id or a negative version) is unreadable: skip it.
            guard expiresAt > now, let key = SessionKey(hex: id), let version = UInt64(exactly: version) else { return nil }
            return StoredSession(
                record: SessionRecord(key: key, data: Array(data.readableBytesView), expiresAt: expiresAt, owner: owner),
                version: SessionVersion(version)
            )
        }
        let next = rows.count == limit ? rows.last.map { SessionOwnerCursor($0.0) } : nil
        return SessionOwnerPage(sessions: sessions, nextCursor: next)
    }

    /// Deletes every session saved with `owner`, except the one under `key`, page by page.
    ///
    /// - Warning: O(sessions of the owner); each step is one bounded statement
    ///   (see ``deleteSessions(of:except:limit:)``).
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: The session to keep (the caller's own), or `nil` to delete them all.
    /// - Returns: How many live sessions were deleted.
    /// - Throws: ``SessionKit/SessionStoreError`` as ``deleteSessions(of:except:limit:)``.
    @discardableResult
    public func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int {
        try await deleteAllSessions(of: owner, except: key)
    }

    /// Deletes at most `limit` rows saved with `owner`, except the one under
    /// `key`, in one statement on the `(owner, id)` index.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: The session to keep, or `nil`.
    ///   - limit: The most rows to delete, clamped to 1 to ``SessionKit/SessionOwnerPage/maximumLimit``.
    /// - Returns: How many live sessions were deleted (the owner's expired rows
    ///   are deleted too but not counted), and whether more rows may remain.
    /// - Throws: ``SessionKit/SessionStoreError`` when the database fails or does
    ///   not answer within ``Configuration/operationTimeout``.
    public func deleteSessions(of owner: String, except key: SessionKey?, limit: Int) async throws -> SessionOwnerDeletion {
        try await prepare()
        let limit = SessionOwnerPage.clamped(limit)
        let query = schema.deleteSessions(of: owner, except: key, limit: limit, now: clock.now())
        let (live, all) = try await withConnection("delete an owner's sessions") { [logger] connection in
            let rows = try await connection.query(query, logger: logger)
            var counts: (Int64, Int64) = (0, 0)
            for try await columns in rows.decode((Int64, Int64).self) {
                counts = columns
            }
            return counts
        }
        return SessionOwnerDeletion(deleted: Int(live), hasMore: all == Int64(limit))
    }
}
#endif  // Postgres
