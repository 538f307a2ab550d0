#if Postgres
import Foundation
import NIOCore
import PostgresNIO
public import SessionKit

extension PostgresStore: SessionOwnerIndex {
    /// The live sessions saved with `owner`, in no particular order.
    ///
    /// One indexed query on the `owner` column; expired rows are left for the sweep.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: The owner's live records and their versions.
    /// - Throws: ``SessionKit/SessionStoreError`` when the database fails or does
    ///   not answer within ``Configuration/operationTimeout``.
    public func sessions(of owner: String) async throws -> [StoredSession] {
        try await prepare()
        let query = schema.sessions(of: owner, now: clock.now())
        let rows = try await withConnection("list an owner's sessions") { [logger] connection in
            let rows = try await connection.query(query, logger: logger)
            var found: [(String, ByteBuffer, Int64, Date)] = []
            for try await columns in rows.decode((String, ByteBuffer, Int64, Date).self) {
                found.append(columns)
            }
            return found
        }
        return rows.compactMap { id, data, version, expiresAt in
            // A row this store did not write (a malformed id or a negative version) is unreadable: skip it.
            guard let key = SessionKey(hex: id), let version = UInt64(exactly: version) else { return nil }
            return StoredSession(
                record: SessionRecord(key: key, data: Array(data.readableBytesView), expiresAt: expiresAt, owner: owner),
                version: SessionVersion(version)
            )
        }
    }

    /// Deletes every session saved with `owner`, except the one under `key`, in one statement.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: The session to keep (the caller's own), or `nil` to delete them all.
    /// - Returns: How many live sessions were deleted; the owner's expired rows
    ///   are deleted too but not counted.
    /// - Throws: ``SessionKit/SessionStoreError`` when the database fails or does
    ///   not answer within ``Configuration/operationTimeout``.
    @discardableResult
    public func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int {
        try await prepare()
        let query = schema.deleteSessions(of: owner, except: key, now: clock.now())
        let deleted = try await withConnection("delete an owner's sessions") { [logger] connection in
            let rows = try await connection.query(query, logger: logger)
            var count: Int64 = 0
            for try await column in rows.decode(Int64.self) {
                count = column
            }
            return count
        }
        return Int(deleted)
    }
}
#endif  // Postgres
