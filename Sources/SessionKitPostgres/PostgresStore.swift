#if Postgres
public import Foundation
public import Logging
import NIOCore
public import PostgresNIO
public import SessionKit
import Synchronization

/// A session store in a PostgreSQL table, shared by every app server that uses
/// the same database.
///
/// The store takes a ready `PostgresClient` (a connection pool) that your app
/// creates, runs and shuts down; it never opens connections of its own (the
/// static ``clientConfiguration(url:)`` builds the client's configuration from
/// a `DATABASE_URL`). Each record is one row: the hashed session id, the opaque
/// data as `bytea`, a version counter, the expiry as `timestamptz` and the
/// owner, indexed for ``sessions(of:)`` and ``deleteSessions(of:except:)``.
/// Every operation is a single SQL statement, so compare-and-swap needs no
/// transaction: a save is `INSERT ... ON CONFLICT ... WHERE` (create) or
/// `UPDATE ... WHERE version = ...` (update).
///
/// The store enforces expiry itself, with its own clock rather than the
/// database's: a row at or past its expiry loads as `nil` and can be replaced
/// by a new session. Expired rows stay in the table until ``run()`` (or
/// ``sweepExpired()``) deletes them. Unless
/// ``Configuration/createTableIfMissing`` is off, the first operation creates
/// the table and its indexes; call ``prepare()`` at start-up to do it (and find
/// a misconfiguration) earlier. The store does not migrate a table that
/// exists: create it with the same columns when you manage the schema yourself.
///
/// An operation that cannot finish within ``Configuration/operationTimeout``,
/// because the server is down, unreachable or slow, or every pooled
/// connection is busy, fails with ``SessionKit/SessionStoreError`` rather than
/// hanging; any other database failure does too. Neither is ever reported as a
/// missing session.
///
/// ```swift
/// let client = PostgresClient(configuration: try PostgresStore.clientConfiguration(url: databaseURL))
/// let store = try PostgresStore(client: client)
/// try await withThrowingTaskGroup(of: Void.self) { group in
///     group.addTask { await client.run() }   // the pool works only while this runs
///     group.addTask { try await store.run() }   // deletes expired rows every 5 minutes
///     try await store.prepare()   // creates the table now, not on the first request
///     // ... serve requests with a SessionEngine over `store` ...
///     group.cancelAll()
/// }
/// ```
public final class PostgresStore: SessionStore {
    /// `postgres`.
    public var name: String { "postgres" }

    /// The store's settings.
    public let configuration: Configuration

    /// How many expired rows one sweep statement deletes, so that a sweep after a
    /// long outage stays within the operation timeout and holds few locks at once.
    static let sweepBatchSize: Int64 = 1_000

    let client: PostgresClient
    let clock: any SessionClock
    let logger: Logger
    let schema: PostgresSchema
    /// Whether the table is known to exist (or the store was told not to create it).
    private let isPrepared: Atomic<Bool>

    /// Creates a store over a client your app runs.
    ///
    /// Nothing is sent to the server here, and no background work starts: run
    /// `client.run()` for the pool, and ``run()`` to sweep expired rows.
    ///
    /// - Parameters:
    ///   - client: The PostgreSQL connection pool. The app owns it and must keep
    ///     its `run()` method running while the store is used.
    ///   - configuration: The store's settings.
    ///   - clock: The source of the current time, used to decide expiry. Every
    ///     app server sharing the table should use a synchronised clock.
    ///   - logger: Where the store logs sweeps and failures, and the logger
    ///     PostgresNIO uses for the store's queries.
    /// - Throws: ``SessionKit/SessionConfigurationError`` naming the setting when
    ///   `PostgresStore.schema` or `PostgresStore.table` is not a plain identifier,
    ///   or `PostgresStore.sweepInterval` or `PostgresStore.operationTimeout` is
    ///   not positive.
    public init(
        client: PostgresClient,
        configuration: Configuration = .init(),
        clock: any SessionClock = SystemSessionClock(),
        logger: Logger = Logger(label: "sessionkit.postgres")
    ) throws(SessionConfigurationError) {
        try configuration.validate()
        self.client = client
        self.configuration = configuration
        self.clock = clock
        var logger = logger
        logger[metadataKey: "sessionkit.store"] = "postgres"
        self.logger = logger
        self.schema = PostgresSchema(schema: configuration.schema, table: configuration.table)
        self.isPrepared = Atomic(!configuration.createTableIfMissing)
    }

    /// Creates the table and its indexes (on `expires_at` and `owner`) if they are missing.
    ///
    /// The store calls this itself before its first operation, so calling it is
    /// optional; call it at start-up to find a wrong URL, password or permission
    /// before the first request does. Once it has succeeded it does nothing. It
    /// is safe to run from several processes at once.
    ///
    /// - Throws: ``SessionKit/SessionStoreError`` when the server cannot be
    ///   reached in time or refuses (for example when the user may not create
    ///   tables: create the table in a migration and turn
    ///   ``Configuration/createTableIfMissing`` off).
    public func prepare() async throws {
        guard !isPrepared.load(ordering: .acquiring) else { return }
        // Two sessions running `CREATE ... IF NOT EXISTS` at the same moment can both
        // find the table missing, and the loser fails on a unique index of the
        // catalog. A transaction-scoped advisory lock on the table's name makes
        // concurrent preparations (in this process or another) take turns.
        try await withConnection("create the sessions table") { [schema, logger] connection in
            try await Self.execute("BEGIN", on: connection, logger: logger)
            do {
                try await Self.execute(
                    "SELECT pg_advisory_xact_lock(hashtext(\(schema.table)))",
                    on: connection,
                    logger: logger
                )
                try await Self.execute(schema.createTable, on: connection, logger: logger)
                try await Self.execute(schema.createExpiryIndex, on: connection, logger: logger)
                try await Self.execute(schema.createOwnerIndex, on: connection, logger: logger)
                try await Self.execute("COMMIT", on: connection, logger: logger)
            } catch {
                // The connection goes back to the pool: leave it outside a transaction.
                // (A closed one needs nothing, and a query sent to it would never end.)
                if !connection.isClosed {
                    try? await Self.execute("ROLLBACK", on: connection, logger: logger)
                }
                throw error
            }
        }
        isPrepared.store(true, ordering: .releasing)
        logger.debug("sessions table ready", metadata: ["sessionkit.table": "\(schema.table)"])
    }

    /// Loads the live record kept under `key`.
    ///
    /// - Parameter key: The hashed session id.
    /// - Returns: The record and its version, or `nil` when there is no row or
    ///   its expiry is at or before the store clock's current time.
    /// - Throws: ``SessionKit/SessionStoreError`` when the database fails or does
    ///   not answer within ``Configuration/operationTimeout``.
    public func load(_ key: SessionKey) async throws -> StoredSession? {
        try await prepare()
        let query = schema.load(key, now: clock.now())
        let row = try await withConnection("load a session") { [logger] connection in
            let rows = try await connection.query(query, logger: logger)
            var found: (ByteBuffer, Int64, Date, String?)?
            for try await columns in rows.decode((ByteBuffer, Int64, Date, String?).self) {
                found = columns
            }
            return found
        }
        guard let (data, version, expiresAt, owner) = row else { return nil }
        guard let version = UInt64(exactly: version) else {
            // The store never writes a negative version: treat the row as unreadable.
            logger.warning(
                "Ignoring an unreadable session row",
                metadata: [
                    "sessionkit.store": "\(name)",
                    "sessionkit.session": "\(key.fingerprint)",
                    "sessionkit.reason": "a negative version",
                ]
            )
            return nil
        }
        return StoredSession(
            record: SessionRecord(key: key, data: Array(data.readableBytesView), expiresAt: expiresAt, owner: owner),
            version: SessionVersion(version)
        )
    }

    /// Creates or updates a record with compare-and-swap, in one statement.
    ///
    /// A new record gets ``SessionKit/SessionVersion/initial``, or the version
    /// after that of an expired row it replaces; an update gets the next version.
    /// The row's owner becomes the record's ``SessionKit/SessionRecord/owner``, so
    /// the session is listed under that owner from now on, and under no other.
    ///
    /// - Parameters:
    ///   - record: The record to write.
    ///   - version: `nil` to create (succeeds when no live row exists), or the
    ///     version of the live row to replace.
    /// - Returns: The new version, or ``SessionKit/SessionSaveResult/conflict`` when
    ///   nothing was written.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/invalidData`` when the expiry is not a
    ///   date PostgreSQL can keep, or another code when the database fails or does
    ///   not answer within ``Configuration/operationTimeout`` (the save may then
    ///   have been applied or not).
    public func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        try validateExpiry(record.expiresAt)
        let query: PostgresQuery
        let data = ByteBuffer(bytes: record.data)
        if let version {
            // A version beyond bigint was never handed out, so no row can have it.
            guard let expected = Int64(exactly: version.rawValue) else { return .conflict }
            query = schema.update(record, data: data, version: expected, now: clock.now())
        } else {
            query = schema.create(record, data: data, now: clock.now())
        }
        try await prepare()
        let newVersion = try await withConnection(version == nil ? "create a session" : "update a session") {
            [logger] connection in
            let rows = try await connection.query(query, logger: logger)
            var returned: Int64?
            for try await column in rows.decode(Int64.self) {
                returned = column
            }
            return returned
        }
        guard let newVersion else { return .conflict }
        guard let saved = UInt64(exactly: newVersion) else {
            throw SessionStoreError(
                code: .invalidData,
                storeName: name,
                message: "the table returned a negative version; is another program writing to \(schema.table)?"
            )
        }
        return .saved(SessionVersion(saved))
    }

    /// Moves a live record's expiry, keeping its data and version.
    ///
    /// A missing or expired row stays as it is: touching never creates a record.
    ///
    /// - Parameters:
    ///   - key: The hashed session id.
    ///   - expiresAt: The new expiry.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/invalidData`` when the expiry is not a
    ///   date PostgreSQL can keep, or another code when the database fails or does
    ///   not answer within ``Configuration/operationTimeout``.
    public func touch(_ key: SessionKey, expiresAt: Date) async throws {
        try validateExpiry(expiresAt)
        try await prepare()
        let query = schema.touch(key, expiresAt: expiresAt, now: clock.now())
        try await withConnection("extend a session") { [logger] connection in
            try await Self.execute(query, on: connection, logger: logger)
        }
    }

    /// Deletes the row under `key`; a missing row is a no-op.
    ///
    /// - Parameter key: The hashed session id.
    /// - Throws: ``SessionKit/SessionStoreError`` when the database fails or does
    ///   not answer within ``Configuration/operationTimeout``.
    public func delete(_ key: SessionKey) async throws {
        try await prepare()
        let query = schema.delete(key)
        try await withConnection("delete a session") { [logger] connection in
            try await Self.execute(query, on: connection, logger: logger)
        }
    }

    /// Deletes every row whose expiry is at or before the store clock's current time.
    ///
    /// It deletes in batches of 1,000 rows, one statement each, so a large
    /// backlog neither exceeds the operation timeout nor locks much of the table;
    /// rows being saved at that moment are left for the next sweep.
    ///
    /// - Returns: How many rows were deleted.
    /// - Throws: ``SessionKit/SessionStoreError`` when the database fails or does
    ///   not answer within ``Configuration/operationTimeout``; the batches before
    ///   the failure stay deleted.
    @discardableResult
    public func sweepExpired() async throws -> Int {
        try await prepare()
        let now = clock.now()
        let query = schema.sweep(now: now, limit: Self.sweepBatchSize)
        var total = 0
        while true {
            let removed = try await withConnection("delete expired sessions") { [logger] connection in
                let rows = try await connection.query(query, logger: logger)
                var count: Int64 = 0
                for try await column in rows.decode(Int64.self) {
                    count = column
                }
                return count
            }
            total += Int(removed)
            guard removed == Self.sweepBatchSize, !Task.isCancelled else { break }
        }
        if total > 0 {
            logger.debug("deleted expired sessions", metadata: ["sessionkit.count": "\(total)"])
        }
        return total
    }

    /// Deletes expired rows every ``Configuration/sweepInterval`` until the
    /// calling task is cancelled.
    ///
    /// A failed sweep is logged as a warning and retried at the next interval,
    /// so a database outage does not end the task. Returns normally on
    /// cancellation, so it can run as a service that ends with the server.
    public func run() async throws {
        await SessionStoreSweeper(interval: configuration.sweepInterval, storeName: name, logger: logger).run {
            try await sweepExpired()
        }
    }

    /// The range of dates the store accepts: about ±6,000 years around 2000,
    /// inside both `timestamptz` and PostgresNIO's microsecond encoding.
    private func validateExpiry(_ date: Date) throws(SessionStoreError) {
        let seconds = date.timeIntervalSinceReferenceDate
        guard seconds.isFinite, abs(seconds) < 2e11 else {
            throw SessionStoreError(
                code: .invalidData,
                storeName: name,
                message: "a record's expiry is not a date PostgreSQL can keep; pass a real date"
            )
        }
    }
}
#endif  // Postgres
