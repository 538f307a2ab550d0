#if Postgres
import Foundation
import NIOCore
import PostgresNIO
import SessionKit

/// The SQL of the PostgreSQL store: the table, its index, and one statement per
/// store operation.
///
/// `data` is `bytea`, not `jsonb`: the store contract is opaque bytes that
/// round-trip exactly, and `jsonb` rewrites what it keeps (key order,
/// whitespace, number spelling) and cannot hold arbitrary bytes. `version` is
/// the compare-and-swap counter, times are `timestamptz`, and expiry is indexed
/// for the sweep. `owner` is the signed-in user a session belongs to, indexed
/// for ``PostgresStore/sessions(of:)``; every save writes it.
///
/// Every statement takes the current time as a parameter, from the store's
/// clock, instead of calling SQL `now()`: the store and the engine then agree on
/// what is expired, whatever the database server's clock says.
///
/// The schema and table names are interpolated unescaped, so they must be
/// validated identifiers (``PostgresStore/Configuration``); they are quoted to
/// keep their case. Everything else is a bind parameter.
struct PostgresSchema: Sendable {
    /// The quoted, schema-qualified table, for example `"public"."sessionkit_sessions"`.
    let table: String
    /// The quoted name of the expiry index, for example `"sessionkit_sessions_expires_at_idx"`.
    let expiryIndex: String
    /// The quoted name of the owner index, for example `"sessionkit_sessions_owner_id_idx"`.
    ///
    /// It indexes `(owner, id)`, so a page of an owner's sessions is one seek and
    /// a scan of at most a page's entries. Tables made before paging also have
    /// `<table>_owner_idx` on `(owner)` alone; it is left in place (drop it to
    /// save its upkeep on each save of an owned session).
    let ownerIndex: String

    init(schema: String, table: String) {
        self.table = "\"\(schema)\".\"\(table)\""
        self.expiryIndex = "\"\(table)_expires_at_idx\""
        self.ownerIndex = "\"\(table)_owner_id_idx\""
    }

    var createTable: PostgresQuery {
        """
        CREATE TABLE IF NOT EXISTS \(unescaped: table) (
            id text PRIMARY KEY,
            data bytea NOT NULL,
            version bigint NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            owner text
        )
        """
    }

    var createExpiryIndex: PostgresQuery {
        "CREATE INDEX IF NOT EXISTS \(unescaped: expiryIndex) ON \(unescaped: table) (expires_at)"
    }

    /// Indexes only the rows that have an owner: anonymous sessions cost the index nothing.
    var createOwnerIndex: PostgresQuery {
        "CREATE INDEX IF NOT EXISTS \(unescaped: ownerIndex) ON \(unescaped: table) (owner, id) WHERE owner IS NOT NULL"
    }

    /// Selects `data, version, expires_at, owner` of the live row under `key`.
    func load(_ key: SessionKey, now: Date) -> PostgresQuery {
        """
        SELECT data, version, expires_at, owner FROM \(unescaped: table)
        WHERE id = \(key.hex) AND expires_at > \(now)
        """
    }

    /// Selects `id, data, version, expires_at` of at most `limit` rows of
    /// `owner` after the id `after`, in id order: one seek into the owner index
    /// and at most `limit` entries read. Expired rows are selected too (the
    /// caller leaves them out), so a page never walks past many of them.
    func sessions(of owner: String, after: String, limit: Int) -> PostgresQuery {
        """
        SELECT id, data, version, expires_at FROM \(unescaped: table)
        WHERE owner = \(owner) AND id > \(after) ORDER BY id LIMIT \(limit)
        """
    }

    /// Deletes at most `limit` rows of `owner` (the first in id order) except the
    /// one under `key`, and counts the live ones among them and all of them.
    func deleteSessions(of owner: String, except key: SessionKey?, limit: Int, now: Date) -> PostgresQuery {
        // No id is empty, so `<> ''` keeps every row when there is none to keep.
        """
        WITH victims AS (
            SELECT id FROM \(unescaped: table) WHERE owner = \(owner) AND id <> \(key?.hex ?? "") ORDER BY id LIMIT \(limit)
        ), removed AS (
            DELETE FROM \(unescaped: table) WHERE id IN (SELECT id FROM victims) AND owner = \(owner) RETURNING expires_at
        )
        SELECT count(*) FILTER (WHERE expires_at > \(now)), count(*) FROM removed
        """
    }

    /// Inserts a row with version 1, or replaces an expired row under the same
    /// key with the next version; returns the new `version`, or no row when a
    /// live row is in the way.
    ///
    /// One statement, so concurrent creates of one key are decided by the primary
    /// key: the losers wait for the winner's row and then find it live.
    func create(_ record: SessionRecord, data: ByteBuffer, now: Date) -> PostgresQuery {
        """
        INSERT INTO \(unescaped: table) AS t (id, data, version, created_at, expires_at, owner)
        VALUES (\(record.key.hex), \(data), 1, \(now), \(record.expiresAt), \(record.owner))
        ON CONFLICT (id) DO UPDATE SET
            data = EXCLUDED.data,
            version = t.version + 1,
            created_at = EXCLUDED.created_at,
            expires_at = EXCLUDED.expires_at,
            owner = EXCLUDED.owner
        WHERE t.expires_at <= \(now)
        RETURNING version
        """
    }

    /// Replaces the data and expiry of the live row under the key if it has
    /// `version`, and counts the version up; returns the new `version`, or no
    /// row when nothing matched.
    ///
    /// One statement, so it is a compare-and-swap: a concurrent update that got
    /// there first has changed the version, and PostgreSQL re-checks the `WHERE`
    /// clause against that newer row before writing.
    func update(_ record: SessionRecord, data: ByteBuffer, version: Int64, now: Date) -> PostgresQuery {
        """
        UPDATE \(unescaped: table)
        SET data = \(data), version = version + 1, expires_at = \(record.expiresAt), owner = \(record.owner)
        WHERE id = \(record.key.hex) AND version = \(version) AND expires_at > \(now)
        RETURNING version
        """
    }

    /// Moves the expiry of the live row under `key`.
    func touch(_ key: SessionKey, expiresAt: Date, now: Date) -> PostgresQuery {
        """
        UPDATE \(unescaped: table) SET expires_at = \(expiresAt)
        WHERE id = \(key.hex) AND expires_at > \(now)
        """
    }

    func delete(_ key: SessionKey) -> PostgresQuery {
        "DELETE FROM \(unescaped: table) WHERE id = \(key.hex)"
    }

    /// Deletes up to `limit` expired rows and returns how many it deleted.
    ///
    /// Rows another transaction has locked (a request saving that session right
    /// now) are skipped rather than waited for; the next sweep takes them.
    func sweep(now: Date, limit: Int64) -> PostgresQuery {
        """
        WITH removed AS (
            DELETE FROM \(unescaped: table) WHERE id IN (
                SELECT id FROM \(unescaped: table) WHERE expires_at <= \(now)
                LIMIT \(limit) FOR UPDATE SKIP LOCKED
            )
            RETURNING 1
        )
        SELECT count(*) FROM removed
        """
    }
}
#endif  // Postgres
