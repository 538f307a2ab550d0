#if SQLite
public import Foundation
public import Logging
import NIOCore
import NIOPosix
import SQLiteNIO
public import SessionKit
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A session store that keeps sessions in one table of an SQLite database file,
/// safe to share between processes on the same machine.
///
/// Each session is one row keyed by its key's ``SessionKit/SessionKey/hex`` (the
/// hashed id, never the token), holding the data bytes as given, a version
/// counter, the expiry in milliseconds since 1970 and the owner. The store is a
/// ``SessionKit/SessionOwnerIndex``: an index on the owner column serves
/// ``sessions(of:)`` and ``deleteSessions(of:except:)``. Each of these, and each
/// load, save, touch and delete, is a single SQL statement, so compare-and-swap
/// holds across processes without explicit transactions: an update is
/// `UPDATE … WHERE id = ? AND version = ? AND expires_at > now RETURNING version`,
/// and a create is an `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now`
/// that may only replace an expired row.
/// A row at or past its expiry loads as no session; ``run()`` (or
/// ``sweepExpired()``) deletes such rows.
///
/// The store opens the file in WAL mode (`PRAGMA journal_mode=WAL`), so reads
/// never wait for another process's write, with `PRAGMA synchronous=NORMAL`: a committed save
/// survives a crash of the process, but the last saves before a power failure may
/// be lost (never half-written). Other processes using the file wait up to
/// ``Configuration/busyTimeout`` for a lock before a call fails.
///
/// The store has one connection, on a thread of its own: statements run one at
/// a time, in the order they were issued, without blocking Swift concurrency's
/// threads. A call that cannot be done (the database is locked for longer than
/// the busy timeout, read-only, corrupt, on a full disk, or the store is closed)
/// throws ``SessionKit/SessionStoreError`` with code
/// ``SessionKit/SessionStoreError/Code/unavailable``; it is never reported as a
/// missing session or a conflict.
///
/// The store does not do network file systems (SQLite's locks and WAL's shared
/// memory are not reliable there), and WAL needs the `-wal` and `-shm` files
/// beside the database: the directory must be writable, and a backup must copy
/// all three files or use SQLite's backup API. Do not delete, move or replace
/// the files while a store has them open: in WAL mode SQLite goes on writing to
/// the removed file without an error. The store does not cap the number of
/// sessions and does not encrypt them.
///
/// ```swift
/// let store = try await SQLiteStore(path: "/var/lib/myapp/sessions.sqlite")
/// let sweeper = Task { try await store.run() }   // removes expired rows every 5 minutes
/// // ... serve requests ...
/// sweeper.cancel()
/// try await store.close()
/// ```
public final class SQLiteStore: SessionStore {
    /// `sqlite`.
    public var name: String { "sqlite" }

    /// The absolute path of the database file.
    public let path: String

    /// The store's settings.
    public let configuration: Configuration

    private let connection: SQLiteConnection
    /// The pool of one thread that runs every statement, which is what keeps them in order.
    private let threadPool: NIOThreadPool
    let statements: Statements
    let clock: any SessionClock
    private let logger: Logger
    private let isClosed = Mutex(false)

    /// How many expired rows one sweep statement deletes, so that the write lock
    /// is released regularly during a large sweep.
    static let sweepBatchSize = 1_000

    /// Opens (creating when missing) the database at `path` and creates or checks
    /// the store's table.
    ///
    /// No background work starts here: call ``run()`` to sweep expired rows
    /// periodically. Call ``close()`` when done; dropping the last reference to the
    /// store also closes it, without waiting.
    ///
    /// - Parameters:
    ///   - path: The database file. Relative paths are resolved against the current
    ///     directory now. Its directory must exist and be writable by this process,
    ///     because SQLite creates the `-wal` and `-shm` files beside the file. Use a
    ///     local file system.
    ///   - configuration: The store's settings.
    ///   - clock: The source of the current time, used to decide expiry. Every
    ///     process sharing the file should use the same (system) clock.
    ///   - logger: Where unreadable rows and failed background sweeps are reported.
    /// - Throws: ``SessionKit/SessionConfigurationError`` naming `SQLiteStore.path`
    ///   when the path is empty, `:memory:`, a directory, in a missing or
    ///   unwritable directory, not writable, read-only for SQLite, or not an SQLite
    ///   database; naming `SQLiteStore.tableName` when the name is not a plain
    ///   identifier or the table exists with other columns or a newer schema; or
    ///   naming `SQLiteStore.sweepInterval` or `SQLiteStore.busyTimeout` when out
    ///   of range. ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database stays
    ///   locked by another process for longer than the busy timeout or an I/O
    ///   error occurs.
    public init(
        path: String,
        configuration: Configuration = .init(),
        clock: any SessionClock = SystemSessionClock(),
        logger: Logger = Logger(label: "sessionkit.sqlite-store")
    ) async throws {
        try configuration.validate()
        let path = try Self.validatedPath(path)

        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        let connection: SQLiteConnection
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path),
                threadPool: threadPool,
                logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any()
            )
        } catch {
            try? await threadPool.shutdownGracefully()
            throw Self.startupError(error, path: path)
        }
        do {
            try await Self.prepare(connection, configuration: configuration, path: path, logger: logger)
        } catch {
            try? await connection.close().get()
            try? await threadPool.shutdownGracefully()
            throw Self.startupError(error, path: path)
        }

        self.path = path
        self.configuration = configuration
        self.connection = connection
        self.threadPool = threadPool
        self.statements = Statements(table: configuration.tableName)
        self.clock = clock
        self.logger = logger
    }

    deinit {
        guard !isClosed.withLock({ $0 }) else { return }
        // Nothing can use the store any more, so closing cannot race a call. The
        // closures keep the connection and the pool alive until both are closed.
        let threadPool = self.threadPool
        connection.close().whenComplete { _ in
            threadPool.shutdownGracefully { _ in }
        }
    }

    /// Loads the record kept under `key` with one `SELECT`.
    ///
    /// - Parameter key: The hashed session id.
    /// - Returns: The record, with its owner, and its version; `nil` when there is
    ///   no row, it has expired, or it cannot be read (a column of the wrong type,
    ///   written by something other than this store), which is logged at
    ///   `warning` and deleted.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database
    ///   cannot be read or the store is closed.
    public func load(_ key: SessionKey) async throws -> StoredSession? {
        let now = try milliseconds(clock.now())
        let rows = try await query("load a session", statements.load, [.text(key.hex), .integer(SQLiteInt64(now))])
        guard let row = rows.first else { return nil }
        guard let session = Self.storedSession(key, from: row) else {
            try await deleteUnreadable(key)
            return nil
        }
        return session
    }

    /// Reads a row's data, version, expiry and owner; `nil` when a column holds a
    /// value of the wrong type.
    static func storedSession(_ key: SessionKey, from row: SQLiteRow) -> StoredSession? {
        guard case .blob(let data)? = row.column("data"),
            case .integer(let version)? = row.column("version"),
            case .integer(let expiresAt)? = row.column("expires_at")
        else {
            return nil
        }
        let owner: String?
        switch row.column("owner") {
        case .blob(let bytes)?:
            guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else { return nil }
            owner = text
        case .null?: owner = nil
        default: return nil
        }
        return StoredSession(
            record: SessionRecord(
                key: key,
                data: Array(data.readableBytesView),
                expiresAt: Self.date(Int64(expiresAt)),
                owner: owner
            ),
            version: SessionVersion(UInt64(bitPattern: Int64(version)))
        )
    }

    /// Logs and deletes a row this store cannot read.
    func deleteUnreadable(_ key: SessionKey) async throws {
        logger.warning(
            "Deleting an unreadable session row",
            metadata: [
                "sessionkit.store": "\(name)",
                "sessionkit.session": "\(key.fingerprint)",
                "sessionkit.reason": "a column holds a value of the wrong type",
            ]
        )
        _ = try await query("delete an unreadable session", statements.delete, [.text(key.hex)])
    }

    /// Creates or updates a record with compare-and-swap, in one statement.
    ///
    /// A new record gets ``SessionKit/SessionVersion/initial``, or the version
    /// after that of an expired row it replaces, so a request still holding the
    /// old version cannot overwrite the new record; an update gets the next
    /// version. The expiry is kept to the millisecond, and the owner is written
    /// with the record, so the owner index follows every save.
    ///
    /// - Parameters:
    ///   - record: The record to write.
    ///   - version: `nil` to create (succeeds when no live row exists; an expired
    ///     one is replaced), or the version of the live row to replace.
    /// - Returns: The new version, or ``SessionKit/SessionSaveResult/conflict``
    ///   when nothing was written.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database cannot
    ///   be written (locked beyond the busy timeout, read-only, full, closed),
    ///   ``SessionKit/SessionStoreError/Code/tooLarge`` when the data exceeds
    ///   SQLite's limit for one value (1 GB by default), or
    ///   ``SessionKit/SessionStoreError/Code/invalidData`` when the expiry is not a
    ///   representable date.
    public func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        let expiresAt = try milliseconds(record.expiresAt)
        let now = try milliseconds(clock.now())
        let data = SQLiteData.blob(ByteBuffer(bytes: record.data))
        let owner = record.owner.map(SQLiteData.text) ?? .null
        let rows: [SQLiteRow]
        if let version {
            rows = try await query(
                "save a session",
                statements.update,
                [
                    data, .integer(SQLiteInt64(expiresAt)), .text(record.key.hex),
                    .integer(SQLiteInt64(Int64(bitPattern: version.rawValue))), .integer(SQLiteInt64(now)), owner,
                ]
            )
        } else {
            rows = try await query(
                "create a session",
                statements.create,
                [
                    .text(record.key.hex), data, .integer(SQLiteInt64(SessionVersion.initial.rawValue)),
                    .integer(SQLiteInt64(now)), .integer(SQLiteInt64(expiresAt)), owner,
                ]
            )
        }
        // `RETURNING` yields the row only when it was written: no row means the
        // compare-and-swap did not match.
        guard let row = rows.first else { return .conflict }
        guard case .integer(let newVersion)? = row.column("version") else {
            throw SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "the database at '\(path)' returned no version for a saved session; "
                    + "check that the table '\(configuration.tableName)' was not altered"
            )
        }
        return .saved(SessionVersion(UInt64(bitPattern: Int64(newVersion))))
    }

    /// Moves a live record's expiry with one `UPDATE`, keeping its data and version.
    ///
    /// A missing or expired row is left as it is: touching never creates one.
    ///
    /// - Parameters:
    ///   - key: The hashed session id.
    ///   - expiresAt: The new expiry, kept to the millisecond.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database cannot
    ///   be written, or ``SessionKit/SessionStoreError/Code/invalidData`` when the
    ///   expiry is not a representable date.
    public func touch(_ key: SessionKey, expiresAt: Date) async throws {
        let expiresAt = try milliseconds(expiresAt)
        let now = try milliseconds(clock.now())
        _ = try await query(
            "touch a session",
            statements.touch,
            [.integer(SQLiteInt64(expiresAt)), .text(key.hex), .integer(SQLiteInt64(now))]
        )
    }

    /// Removes the record under `key` with one `DELETE`; a missing record is a no-op.
    ///
    /// - Parameter key: The hashed session id.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database cannot be written.
    public func delete(_ key: SessionKey) async throws {
        _ = try await query("delete a session", statements.delete, [.text(key.hex)])
    }

    /// Deletes every row at or past its expiry now.
    ///
    /// Deletes in batches of a thousand rows, one statement each, so other
    /// processes and this store's calls get the database between batches.
    ///
    /// - Returns: How many rows were deleted.
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the database cannot be written.
    @discardableResult
    public func sweepExpired() async throws -> Int {
        let now = try milliseconds(clock.now())
        var removed = 0
        while true {
            let rows = try await query(
                "sweep expired sessions",
                statements.sweep,
                [.integer(SQLiteInt64(now)), .integer(SQLiteInt64(Self.sweepBatchSize))]
            )
            removed += rows.count
            if rows.count < Self.sweepBatchSize { return removed }
        }
    }

    /// Deletes expired rows every ``Configuration/sweepInterval`` until the calling
    /// task is cancelled.
    ///
    /// Returns normally on cancellation. A failed sweep is logged at `error` and
    /// retried at the next interval rather than ending the loop. It does not close
    /// the store: call ``close()`` after the servers that use it have stopped.
    public func run() async throws {
        await SessionStoreSweeper(interval: configuration.sweepInterval, storeName: name, logger: logger).run {
            try await sweepExpired()
        }
    }

    /// Waits for the statements already issued, then closes the database
    /// connection and the store's thread.
    ///
    /// Later calls throw ``SessionKit/SessionStoreError`` with code
    /// ``SessionKit/SessionStoreError/Code/unavailable``. Closing twice is a no-op.
    ///
    /// - Throws: ``SessionKit/SessionStoreError`` with code
    ///   ``SessionKit/SessionStoreError/Code/unavailable`` when the connection or
    ///   its thread fails to close.
    public func close() async throws {
        let wasOpen = isClosed.withLock { isClosed in
            defer { isClosed = true }
            return !isClosed
        }
        guard wasOpen else { return }
        do {
            // The future-returning `close()` ignores task cancellation, so the
            // connection is always closed before its thread stops.
            try await connection.close().get()
            try await threadPool.shutdownGracefully()
        } catch {
            throw SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "could not close the database at '\(path)'",
                cause: error
            )
        }
    }
}

// MARK: - Statements

extension SQLiteStore {
    /// The store's SQL, with the table name filled in once.
    struct Statements: Sendable {
        /// Binds: id, now.
        let load: String
        /// Binds: id, data, initial version, now, expiry, owner.
        let create: String
        /// Binds: data, expiry, id, expected version, now, owner.
        let update: String
        /// Binds: expiry, id, now.
        let touch: String
        /// Binds: id.
        let delete: String
        /// Binds: now, batch size.
        let sweep: String
        /// Binds: owner, the id to start after (`""` for the first page), page size.
        let ownerSessions: String
        /// Binds: owner, the id to keep (or `NULL`), the most rows to delete.
        let deleteOwnerSessions: String

        init(table: String) {
            let table = "\"\(table)\""
            // The owner is read as a blob: sqlite-nio reads text only up to its first
            // NUL byte, and an owner id may hold one.
            load = "SELECT data, version, expires_at, CAST(owner AS BLOB) AS owner FROM \(table) WHERE id = ?1 AND expires_at > ?2"
            // sqlite-nio binds an empty blob as NULL (it passes SQLite a null pointer),
            // which the NOT NULL column refuses: `ifnull` turns it back into an empty blob.
            // In the upsert, unqualified columns name the existing row and `excluded.`
            // the new one, so only an expired row is replaced, with the next version.
            create = """
                INSERT INTO \(table) (id, data, version, created_at, expires_at, owner)
                VALUES (?1, ifnull(?2, x''), ?3, ?4, ?5, ?6)
                ON CONFLICT (id) DO UPDATE SET
                    data = excluded.data, version = version + 1, created_at = excluded.created_at,
                    expires_at = excluded.expires_at, owner = excluded.owner
                WHERE expires_at <= ?4
                RETURNING version
                """
            update = """
                UPDATE \(table) SET data = ifnull(?1, x''), version = version + 1, expires_at = ?2, owner = ?6
                WHERE id = ?3 AND version = ?4 AND expires_at > ?5
                RETURNING version
                """
            touch = "UPDATE \(table) SET expires_at = ?1 WHERE id = ?2 AND expires_at > ?3"
            delete = "DELETE FROM \(table) WHERE id = ?1"
            sweep = """
                DELETE FROM \(table) WHERE id IN (SELECT id FROM \(table) WHERE expires_at <= ?1 LIMIT ?2)
                RETURNING 1
                """
            // Both use the partial owner index: `owner = ?1` implies `owner IS NOT NULL`.
            // The table is WITHOUT ROWID, so the owner index holds (owner, id) in
            // order: `owner = ? AND id > ? ORDER BY id LIMIT ?` reads at most LIMIT
            // index entries after one seek. Expired rows are returned too (and left
            // out by the caller), so that a page never walks past many of them.
            ownerSessions = """
                SELECT id, data, version, expires_at, CAST(owner AS BLOB) AS owner FROM \(table)
                WHERE owner = ?1 AND id > ?2 ORDER BY id LIMIT ?3
                """
            // `IS NOT` keeps every row when the id to keep is NULL. Expired rows of the
            // owner go too; the caller counts only the live ones.
            deleteOwnerSessions = """
                DELETE FROM \(table) WHERE id IN (
                    SELECT id FROM \(table) WHERE owner = ?1 AND id IS NOT ?2 ORDER BY id LIMIT ?3
                ) RETURNING expires_at
                """
        }
    }
}

// MARK: - Running statements

extension SQLiteStore {
    /// Collects the rows a statement returns, on the store's thread.
    private final class Rows: Sendable {
        let rows = Mutex<[SQLiteRow]>([])
    }

    /// Runs one statement on the store's thread and returns its rows, mapping
    /// every failure to ``SessionStoreError``.
    func query(_ action: String, _ sql: String, _ binds: [SQLiteData]) async throws -> [SQLiteRow] {
        guard !isClosed.withLock({ $0 }) else { throw closedError(action) }
        let collected = Rows()
        do {
            try await connection.query(sql, binds) { row in
                collected.rows.withLock { $0.append(row) }
            }
        } catch {
            throw storeError(action, error)
        }
        return collected.rows.withLock { $0 }
    }

    private func closedError(_ action: String) -> SessionStoreError {
        SessionStoreError(
            code: .unavailable,
            storeName: name,
            message: "could not \(action): the store for '\(path)' is closed"
        )
    }

    /// Turns a failure of the connection or its thread into a ``SessionStoreError``
    /// that says what to check.
    private func storeError(_ action: String, _ error: any Error) -> any Error {
        if error is CancellationError || error is NIOThreadPoolError.ThreadPoolInactive {
            // The thread pool cancels queued statements when the store closes; a
            // cancelled caller gets its `CancellationError` back unchanged.
            if isClosed.withLock({ $0 }) { return closedError(action) }
            if error is CancellationError { return error }
        }
        guard let sqliteError = error as? SQLiteError else {
            return SessionStoreError(code: .unavailable, storeName: name, message: "could not \(action) in '\(path)'", cause: error)
        }
        if sqliteError.reason == .misuse, isClosed.withLock({ $0 }) {
            return closedError(action)
        }
        let code: SessionStoreError.Code = sqliteError.reason == .tooBig ? .tooLarge : .unavailable
        return SessionStoreError(
            code: code,
            storeName: name,
            message: "could not \(action) in '\(path)': "
                + Self.explain(sqliteError.reason, busyTimeout: configuration.busyTimeoutMilliseconds),
            cause: sqliteError
        )
    }

    /// What an SQLite result code means for an operator, and what to check.
    static func explain(_ reason: SQLiteError.Reason, busyTimeout: Int) -> String {
        switch reason {
        case .busy, .busyInRecovery, .busyInSnapshot, .busyTimeout, .locked, .lockedBySharedCache, .lockedVirtualTable:
            return "the database stayed locked by another connection for longer than the busy timeout (\(busyTimeout) ms); "
                + "look for a process holding a long transaction on it"
        case .readOnly, .readonlyInRecovery, .readonlyCantLock, .readonlyInRollback, .readonlyDirectory:
            return "the database is read-only for this process; check that the file, its directory and the -wal and -shm "
                + "files beside it are writable and that the file system is not mounted read-only"
        case .readonlyBackingMoved:
            return "the database file was moved, replaced or deleted while the store had it open; restart the store"
        case .full:
            return "the disk holding the database is full; free some space"
        case .tooBig:
            return "the session is larger than SQLite accepts for one value"
        case .corrupt, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable, .notADatabase:
            return "the file is corrupt or not an SQLite database; restore it from a backup, or remove it together with "
                + "its -wal and -shm files to start with no sessions"
        case .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath, .cantOpenCygwinPath, .cantOpenUnfollowedSymlink:
            return "the database file cannot be opened; check that it and its directory exist and are accessible"
        case .permission, .auth, .authUnauthorizedUser:
            return "access to the database was denied"
        case .noMemory, .ioErrorNoMemory:
            return "SQLite ran out of memory"
        case .ioError, .ioErrorFailedRead, .ioErrorIncompleteRead, .ioErrorFailedWrite, .ioErrorFailedSync,
            .ioErrorFailedDirSync, .ioErrorFailedTruncate, .ioErrorFailedStat, .ioErrorFailedUnlock,
            .ioErrorFailedReadLock, .ioErrorFailedDelete, .ioErrorFailedAccess, .ioErrorFailedLockCheck,
            .ioErrorFailedAdvisoryLock, .ioErrorFailedClose, .ioErrorFailedSharedMemOpen, .ioErrorFailedSharedMemSize,
            .ioErrorFailedSharedMemMap, .ioErrorFailedDeleteNonexistent, .ioErrorFailedMemoryMap,
            .ioErrorCantFindTempdir, .ioErrorCygwinPath, .ioErrorBadDataChecksum, .ioErrorCorruptedFilesystem:
            return "the disk reported an I/O error; check the disk, and that the database is on a local file system "
                + "(SQLite's locking does not work on network file systems)"
        default:
            return "SQLite failed (\(reason))"
        }
    }
}

// MARK: - Opening

extension SQLiteStore {
    /// Sets the connection up and creates or checks the table.
    private static func prepare(
        _ connection: SQLiteConnection,
        configuration: Configuration,
        path: String,
        logger: Logger
    ) async throws {
        // First, so that every later statement waits for other processes' locks.
        // It also replaces sqlite-nio's busy handler, which retries forever without sleeping.
        _ = try await connection.query("PRAGMA busy_timeout = \(configuration.busyTimeoutMilliseconds)")
        let mode = try await connection.query("PRAGMA journal_mode = WAL").first?.column("journal_mode")?.string
        if mode?.lowercased() != "wal" {
            // Rollback journals still work between processes, just with readers and
            // the writer blocking each other.
            logger.warning(
                "SQLite did not switch the session database to WAL mode",
                metadata: [
                    "sessionkit.store": "sqlite",
                    "sessionkit.path": "\(path)",
                    "sessionkit.journalMode": "\(mode ?? "unknown")",
                ]
            )
        }
        _ = try await connection.query("PRAGMA synchronous = NORMAL")
        try await SQLiteSchema.migrate(connection, table: configuration.tableName)
    }

    /// Maps a failure to open or prepare the database: problems the operator must
    /// fix in the configuration become ``SessionConfigurationError``; passing ones
    /// (a lock held too long, an I/O error) ``SessionStoreError``.
    private static func startupError(_ error: any Error, path: String) -> any Error {
        if error is SessionConfigurationError || error is CancellationError { return error }
        guard let sqliteError = error as? SQLiteError else {
            return SessionStoreError(code: .unavailable, storeName: "sqlite", message: "could not open '\(path)'", cause: error)
        }
        switch sqliteError.reason {
        case .readOnly, .readonlyInRecovery, .readonlyCantLock, .readonlyInRollback, .readonlyDirectory,
            .readonlyBackingMoved, .corrupt, .corruptIndex, .corruptSequenceSchema, .corruptVirtualTable, .notADatabase,
            .cantOpen, .cantOpenDirectory, .cantOpenInvalidPath, .cantOpenCygwinPath, .cantOpenUnfollowedSymlink,
            .permission, .auth, .authUnauthorizedUser:
            return SessionConfigurationError(
                setting: "SQLiteStore.path",
                reason: "cannot use '\(path)': " + explain(sqliteError.reason, busyTimeout: 0) + " (\(sqliteError))"
            )
        default:
            return SessionStoreError(
                code: .unavailable,
                storeName: "sqlite",
                message: "could not open '\(path)': " + explain(sqliteError.reason, busyTimeout: 0),
                cause: sqliteError
            )
        }
    }

    /// Resolves `path` against the current directory and checks what can be
    /// checked before SQLite opens it.
    static func validatedPath(_ path: String) throws(SessionConfigurationError) -> String {
        let setting = "SQLiteStore.path"
        guard !path.isEmpty else {
            throw SessionConfigurationError(setting: setting, reason: "must not be empty")
        }
        guard path != ":memory:" else {
            throw SessionConfigurationError(
                setting: setting,
                reason: "an in-memory database is private to one connection and lost with it; "
                    + "use MemoryStore for that, or give a file path"
            )
        }
        // An absolute path also keeps a name starting with `file:` from being read as an SQLite URI.
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        guard !absolute.hasSuffix("/") else {
            throw SessionConfigurationError(
                setting: setting,
                reason: "'\(absolute)' names a directory; give the path of a database file, such as '\(absolute)sessions.sqlite'"
            )
        }
        var info = stat()
        if stat(absolute, &info) == 0 {
            guard (info.st_mode & S_IFMT) != S_IFDIR else {
                throw SessionConfigurationError(
                    setting: setting,
                    reason: "'\(absolute)' is a directory; give the path of a database file inside it, "
                        + "such as '\(absolute)/sessions.sqlite'"
                )
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw SessionConfigurationError(setting: setting, reason: "'\(absolute)' is not a regular file")
            }
            guard access(absolute, R_OK | W_OK) == 0 else {
                throw SessionConfigurationError(
                    setting: setting,
                    reason: "'\(absolute)' is not readable and writable by this process (\(describe(errno))); fix its owner or mode"
                )
            }
        } else if errno != ENOENT {
            throw SessionConfigurationError(setting: setting, reason: "cannot inspect '\(absolute)' (\(describe(errno)))")
        }

        let slash = absolute.lastIndex(of: "/")!
        let directory = slash == absolute.startIndex ? "/" : String(absolute[..<slash])
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw SessionConfigurationError(
                setting: setting,
                reason: "the directory '\(directory)' does not exist; create it first"
            )
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw SessionConfigurationError(
                setting: setting,
                reason: "the directory '\(directory)' is not writable by this process (\(describe(errno))); "
                    + "SQLite creates the database and its -wal and -shm files there"
            )
        }
        return absolute
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

// MARK: - Time

extension SQLiteStore {
    /// A date as whole milliseconds since 1970, the unit of the table's time columns.
    func milliseconds(_ date: Date) throws -> Int64 {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        // Int64 holds about ±292 million years of milliseconds; beyond that (or NaN) is not a real date.
        guard milliseconds.isFinite, abs(milliseconds) < 9.2e18 else {
            throw SessionStoreError(
                code: .invalidData,
                storeName: name,
                message: "a date is out of the range the database can hold; pass a real date"
            )
        }
        return Int64(milliseconds)
    }

    private static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
#endif  // SQLite
