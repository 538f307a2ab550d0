#if SQLite
import SQLiteNIO
import SessionKit

/// The SQL that creates and migrates the SQLite store's table.
///
/// One table per store: the hashed id as primary key, the engine's bytes, the
/// compare-and-swap version, creation and expiry in milliseconds since 1970,
/// and the owner (`NULL` for an anonymous session). Expiry is indexed for the
/// sweep; the owner, where set, for the owner index.
///
/// Schema versions are kept per table in `sessionkit_schema`, not in
/// `PRAGMA user_version`: that is one number for the whole file, which several
/// stores' tables and the application's own migration tool may share.
enum SQLiteSchema {
    /// The schema version this code writes.
    ///
    /// 1: the table and its expiry index. 2: the owner index.
    static let version = 2

    /// The table that records each session table's schema version.
    static let versionTable = "sessionkit_schema"

    /// The columns a session table must have.
    static let columns = ["id", "data", "version", "created_at", "expires_at", "owner"]

    static func createTable(_ table: String) -> String {
        """
        CREATE TABLE IF NOT EXISTS "\(table)" (
            id TEXT PRIMARY KEY NOT NULL,
            data BLOB NOT NULL,
            version INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            owner TEXT
        ) WITHOUT ROWID
        """
    }

    static func createExpiryIndex(_ table: String) -> String {
        "CREATE INDEX IF NOT EXISTS \"\(table)_expires_at\" ON \"\(table)\" (expires_at)"
    }

    /// A partial index: anonymous sessions, usually most of them, stay out of it.
    /// `owner = ?` implies `owner IS NOT NULL`, so SQLite uses it for the owner's queries.
    static func createOwnerIndex(_ table: String) -> String {
        "CREATE INDEX IF NOT EXISTS \"\(table)_owner\" ON \"\(table)\" (owner) WHERE owner IS NOT NULL"
    }

    static let createVersionTable = """
        CREATE TABLE IF NOT EXISTS "\(versionTable)" (
            table_name TEXT PRIMARY KEY NOT NULL,
            version INTEGER NOT NULL
        ) WITHOUT ROWID
        """

    /// Creates the session table when it is missing and checks an existing one, in
    /// one `BEGIN IMMEDIATE` transaction so that processes starting together
    /// migrate one after the other.
    ///
    /// Runs before the store serves any call, so no other statement can run on the
    /// connection inside the transaction.
    ///
    /// - Throws: ``SessionConfigurationError`` naming `SQLiteStore.tableName` when
    ///   the table was written by a newer version of the store or lacks a column;
    ///   the connection's error when a statement fails.
    static func migrate(_ connection: SQLiteConnection, table: String) async throws {
        _ = try await connection.query("BEGIN IMMEDIATE")
        do {
            _ = try await connection.query(createVersionTable)
            let rows = try await connection.query(
                "SELECT version FROM \"\(versionTable)\" WHERE table_name = ?1",
                [.text(table)]
            )
            let existing = rows.first?.column("version")?.integer
            if let existing, existing > version {
                throw SessionConfigurationError(
                    setting: "SQLiteStore.tableName",
                    reason: "table '\(table)' has schema version \(existing), newer than this store's \(version); "
                        + "upgrade SessionKit or use another table"
                )
            }
            // Every migration so far is "create what is missing": version 1 the table
            // and its expiry index, version 2 the owner index.
            _ = try await connection.query(createTable(table))
            let info = try await connection.query("PRAGMA table_info(\"\(table)\")")
            let present = Set(info.compactMap { $0.column("name")?.string })
            let missing = columns.filter { !present.contains($0) }
            guard missing.isEmpty else {
                throw SessionConfigurationError(
                    setting: "SQLiteStore.tableName",
                    reason: "table '\(table)' exists without the column(s) \(missing.joined(separator: ", ")); "
                        + "it belongs to something else, so choose another table name"
                )
            }
            _ = try await connection.query(createExpiryIndex(table))
            _ = try await connection.query(createOwnerIndex(table))
            if existing != SQLiteInt64(version) {
                _ = try await connection.query(
                    "INSERT INTO \"\(versionTable)\" (table_name, version) VALUES (?1, ?2) "
                        + "ON CONFLICT (table_name) DO UPDATE SET version = excluded.version",
                    [.text(table), .integer(SQLiteInt64(version))]
                )
            }
            _ = try await connection.query("COMMIT")
        } catch {
            _ = try? await connection.query("ROLLBACK")
            throw error
        }
    }
}
#endif  // SQLite
