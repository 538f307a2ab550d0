import Crypto
public import Foundation
public import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A session store that keeps one file per session in a local directory, safe to
/// share between processes on the same machine.
///
/// Each record is a file named after its key's ``SessionKey/hex`` (the hashed id,
/// never the token), holding a header (with the record's owner) and the data. The store never
/// edits a file in place: every write goes to a temporary file in the same
/// directory, is flushed with `fsync`, and is renamed over the record, so a
/// reader sees the old record or the new one, never a mix. A file that is
/// truncated or corrupt anyway (a crash of the disk, a hand edit) fails its
/// checksum, is logged at `warning` with its key and removed, and loads as no
/// session.
///
/// Compare-and-swap holds across processes: ``save(_:expecting:)``,
/// ``touch(_:expiresAt:)``, ``delete(_:)`` and removals take an exclusive
/// `flock` on one of 256 lock files, `.locks/00` to `.locks/ff`, chosen by the
/// first byte of the key, for a short synchronous critical section: read the
/// current file, compare, rename. A save writes and flushes its temporary file
/// before it takes the lock; a touch writes its file inside the lock, because
/// it copies the current data. ``load(_:)`` takes no lock.
///
/// The store is a ``SessionOwnerIndex``. For each owner it keeps an index file,
/// `.owners/<hex SHA-256 of the owner id>` (the id itself never appears in a
/// file name), listing the keys saved with that ``SessionRecord/owner``, one
/// ``SessionKey/hex`` per line. The session files stay the truth: the owner in
/// a session file's header decides whether a listed key belongs to the owner,
/// and the index may list more keys than it should, never fewer. Index files
/// are replaced by `rename` like session files, and changed under an exclusive
/// `flock` on `.locks/owner-<first byte of the owner hash>`, always taken
/// inside the session's own lock, never the other way round:
/// - A save with an owner lists the key in the owner's index and renames the
///   session file while holding the owner's lock, so an index is never missing
///   a live session of its owner. When the owner changed, the key then leaves
///   the previous owner's index.
/// - A touch of an owned session renames under the owner's lock too, after
///   checking again that the session is live, so a sweep cannot drop a key
///   that a touch is about to extend.
/// - A delete reads the file's owner first and takes the key out of its index.
/// - ``sessions(of:)`` and ``deleteSessions(of:except:)`` read the index without
///   a lock and then each listed session file; keys whose file is missing,
///   expired, unreadable or names another owner are pruned from the index.
/// - ``sweepExpired()`` prunes every index the same way and removes empty ones.
///
/// An index file that is not a list of keys is logged at `warning` and read as
/// empty; the next save of each of the owner's sessions lists it again.
///
/// Cost, in file operations:
/// - ``load(_:)``: one read; ``save(_:expecting:)``: one write, one read and a
///   rename, plus, with an owner, one read of the owner's index, rewritten
///   (write, `fsync`, rename) only when the key joins it, and a rewrite of the
///   previous owner's index when the owner changed.
/// - ``touch(_:expiresAt:)``: one read, one write and a rename; ``delete(_:)``:
///   one read, an unlink and, for an owned session, a rewrite of its index.
/// - ``sessions(of:limit:cursor:)``: one sequential read of the owner's index
///   file (65 bytes per key) plus at most `limit` session file reads;
///   ``deleteSessions(of:except:limit:)``: the same plus at most `limit` unlinks
///   and one rewrite of the index. ``sessions(of:)`` and
///   ``deleteSessions(of:except:)`` repeat them page by page: O(sessions of the
///   owner) file operations in all.
/// - ``sweepExpired()``: one read per session file and per index file, plus the
///   removals.
///
/// The store does not do network file systems (`flock` and `rename` are not
/// reliable there), does not `fsync` the directory after a rename (after a power
/// failure a session may fall back to its previous version, never to a torn
/// one), and does not cap the number of sessions.
///
/// Every async call's file I/O (`open`, `read`, `write`, `fsync`, `flock`,
/// `rename`) runs on a small pool of dedicated threads that the process's file
/// stores share (as many as processors, 4 to 16, started as needed), while the
/// calling task is suspended: a slow or stuck disk holds those threads, never
/// Swift's cooperative pool or a server's event loops. Only the synchronous
/// ``sweepExpired()`` runs on its caller's thread; ``run()`` calls it on the pool.
///
/// The file format, version 2 (all integers little-endian):
///
/// | Offset | Size | Field |
/// |-------:|-----:|-------|
/// | 0      | 4    | magic `SKSF` |
/// | 4      | 4    | format version, `2` |
/// | 8      | 8    | record version (``SessionVersion/rawValue``) |
/// | 16     | 8    | expiry, signed milliseconds since 1970-01-01T00:00:00Z |
/// | 24     | 8    | data length `n` |
/// | 32     | 4    | owner length `m` in bytes, or `0xFFFFFFFF` for no owner (then `m` is 0) |
/// | 36     | m    | owner, UTF-8 |
/// | 36 + m | 8    | the first 8 bytes of SHA-256 over bytes 0..<36 + m and the data |
/// | 44 + m | n    | data |
///
/// Version 1 files, written before the owner index, are still read, as
/// records without an owner: bytes 0..<32 as above with format version `1`,
/// the checksum over bytes 0..<32 and the data at 32, and the data at 40. The
/// next save or touch rewrites them as version 2.
///
/// ```swift
/// let store = try FileStore(directory: "/var/lib/myapp/sessions")
/// let sweeper = Task { try await store.run() }   // removes expired files every 5 minutes
/// // ... serve requests ...
/// sweeper.cancel()
/// ```
public final class FileStore: SessionOwnerIndex {
    /// Settings for a ``FileStore``.
    public struct Configuration: Sendable {
        /// How often ``FileStore/run()`` removes expired files. Must be positive.
        public var sweepInterval: Duration

        /// Creates a configuration.
        ///
        /// - Parameter sweepInterval: How often ``FileStore/run()`` removes expired
        ///   files. Defaults to 5 minutes.
        public init(sweepInterval: Duration = .seconds(300)) {
            self.sweepInterval = sweepInterval
        }
    }

    /// `file`.
    public var name: String { "file" }

    /// `false`: every async call's reads, writes and `fsync` run on the store's
    /// own threads (see ``FileStore``), so the calling thread is free meanwhile.
    public var blocksCallingThread: Bool { false }

    /// The absolute path of the directory that holds the session files.
    public let directory: String

    /// The store's settings.
    public let configuration: Configuration

    private let lockDirectory: String
    private let ownerDirectory: String
    private let clock: any SessionClock
    private let logger: Logger
    private let threadPool: BlockingThreadPool

    /// Temporary files older than this are left over from a crashed writer and removed by a sweep.
    static let staleTemporaryFileAge: TimeInterval = 600
    static let temporaryPrefix = ".tmp-"

    /// Opens a store in `directory`, creating it (mode 0700, with intermediate
    /// directories) when it is missing.
    ///
    /// No background work starts here: call ``run()`` to sweep expired files periodically.
    ///
    /// - Parameters:
    ///   - directory: The directory for session files. Relative paths are resolved
    ///     against the current directory now. Give it to the store alone: a sweep
    ///     removes files whose names look like session keys and are unreadable.
    ///   - configuration: The store's settings.
    ///   - clock: The source of the current time, used to decide expiry. Keep the
    ///     system clock in production: stale temporary files are judged by their
    ///     modification time.
    ///   - logger: Where unreadable files and failed background sweeps are reported.
    /// - Throws: ``SessionConfigurationError`` naming `FileStore.directory` when
    ///   the directory cannot be created or is not a writable directory, or
    ///   `FileStore.sweepInterval` when the interval is not positive.
    public convenience init(
        directory: String,
        configuration: Configuration = .init(),
        clock: any SessionClock = SystemSessionClock(),
        logger: Logger = Logger(label: "sessionkit.file-store")
    ) throws(SessionConfigurationError) {
        try self.init(directory: directory, configuration: configuration, clock: clock, logger: logger, threadPool: .shared)
    }

    /// Opens a store whose file I/O runs on `threadPool` (tests give it a pool of its own).
    package init(
        directory: String,
        configuration: Configuration = .init(),
        clock: any SessionClock = SystemSessionClock(),
        logger: Logger = Logger(label: "sessionkit.file-store"),
        threadPool: BlockingThreadPool
    ) throws(SessionConfigurationError) {
        guard configuration.sweepInterval > .zero else {
            throw SessionConfigurationError(
                setting: "FileStore.sweepInterval",
                reason: "must be positive, got \(configuration.sweepInterval)"
            )
        }
        guard !directory.isEmpty else {
            throw SessionConfigurationError(setting: "FileStore.directory", reason: "must not be empty")
        }
        var path = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }

        do {
            try FileManager.default.createDirectory(
                atPath: path,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw SessionConfigurationError(
                setting: "FileStore.directory",
                reason: "cannot create '\(path)': \(error); create it or choose a writable location"
            )
        }
        guard Self.isDirectory(path) else {
            throw SessionConfigurationError(setting: "FileStore.directory", reason: "'\(path)' is not a directory")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw SessionConfigurationError(
                setting: "FileStore.directory",
                reason: "'\(path)' is not writable by this process (\(Self.describe(errno))); fix its owner or mode"
            )
        }
        let lockDirectory = path + "/.locks"
        guard mkdir(lockDirectory, 0o700) == 0 || errno == EEXIST, Self.isDirectory(lockDirectory) else {
            throw SessionConfigurationError(
                setting: "FileStore.directory",
                reason: "cannot create the lock directory '\(lockDirectory)' (\(Self.describe(errno)))"
            )
        }

        let ownerDirectory = path + "/.owners"
        guard mkdir(ownerDirectory, 0o700) == 0 || errno == EEXIST, Self.isDirectory(ownerDirectory) else {
            throw SessionConfigurationError(
                setting: "FileStore.directory",
                reason: "cannot create the owner index directory '\(ownerDirectory)' (\(Self.describe(errno)))"
            )
        }

        self.directory = path
        self.lockDirectory = lockDirectory
        self.ownerDirectory = ownerDirectory
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.threadPool = threadPool
    }

    /// Loads the record kept under `key`.
    ///
    /// - Parameter key: The hashed session id.
    /// - Returns: The record, with its owner, and its version; `nil` when there is
    ///   no file, it has expired, or it is truncated or corrupt. Expired and
    ///   unreadable files are removed, unreadable ones logged at `warning`.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the file cannot be read for any reason other than not existing.
    public func load(_ key: SessionKey) async throws -> StoredSession? {
        try await threadPool.run { try self.loadBlocking(key) }
    }

    private func loadBlocking(_ key: SessionKey) throws -> StoredSession? {
        switch try readFile(at: path(for: key)) {
        case .absent:
            return nil
        case .record(let stored) where Self.isLive(stored.expiresAt, now: clock.now()):
            return stored.session(under: key)
        case .record, .corrupt:
            try removeIfUnusable(key)
            return nil
        }
    }

    /// Creates or updates a record with compare-and-swap across processes.
    ///
    /// A new record gets ``SessionVersion/initial``, or the version after that of
    /// an expired record it replaces; an update gets the next version. The expiry
    /// is kept to the millisecond. The key is listed in the index of the
    /// record's ``SessionRecord/owner`` before the record is renamed into place,
    /// and leaves the index of the owner the record had before, if another.
    ///
    /// - Parameters:
    ///   - record: The record to write.
    ///   - version: `nil` to create (succeeds when no live record exists; an
    ///     expired or unreadable file is replaced), or the version of the live
    ///     record to replace.
    /// - Returns: The new version, or ``SessionSaveResult/conflict`` when nothing was written.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when a file cannot be read, written or renamed (permissions, a full or
    ///   read-only disk), or ``SessionStoreError/Code/invalidData`` when the expiry
    ///   is outside the range the format can hold or the owner is longer than
    ///   4 GiB of UTF-8.
    public func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        try await threadPool.run { try self.saveBlocking(record, expecting: version) }
    }

    private func saveBlocking(_ record: SessionRecord, expecting version: SessionVersion?) throws -> SessionSaveResult {
        let expiresAt = try milliseconds(record.expiresAt)
        if let owner = record.owner, owner.utf8.count > FileStoreFormat.maximumOwnerLength {
            throw SessionStoreError(
                code: .invalidData,
                storeName: name,
                message: "a record's owner id is longer than a file can hold; use a short id"
            )
        }
        let target = path(for: record.key)
        var newVersion = version?.next ?? .initial
        let encode = { (version: SessionVersion) in
            FileStoreFormat.encode(data: record.data, version: version.rawValue, expiresAt: expiresAt, owner: record.owner)
        }
        // Write and flush outside the lock, so the critical section is a read and a rename.
        var temporary = try writeTemporaryFile(encode(newVersion))
        var renamed = false
        defer {
            if !renamed { removeQuietly(temporary) }
        }
        return try withLock(for: record.key) { () throws -> SessionSaveResult in
            var previousOwner: String?
            switch try readFile(at: target) {
            case .record(let stored) where Self.isLive(stored.expiresAt, now: clock.now()):
                guard let version, stored.version == version.rawValue else { return .conflict }
                previousOwner = stored.owner
            case .record(let stored):
                guard version == nil else { return .conflict }
                previousOwner = stored.owner
                // Give the replacement a version the expired record never had, so a
                // request still holding the old version cannot overwrite the new record.
                if stored.version >= newVersion.rawValue {
                    newVersion = SessionVersion(stored.version).next
                    removeQuietly(temporary)
                    temporary = try writeTemporaryFile(encode(newVersion))
                }
            case .corrupt(let reason):
                guard version == nil else { return .conflict }
                logUnreadable(record.key, reason: reason, action: "Replacing")
            case .absent:
                guard version == nil else { return .conflict }
            }
            if let owner = record.owner {
                // List the key before the file names its owner, and rename inside the
                // owner's lock, so a concurrent prune never drops a live session.
                let hash = Self.ownerHash(owner)
                try withOwnerLock(hash) {
                    try addToIndex(record.key, ownerHash: hash)
                    try renameFile(temporary, to: target)
                }
            } else {
                try renameFile(temporary, to: target)
            }
            renamed = true
            if let previousOwner, !SessionPayload.isSameOwner(previousOwner, record.owner) {
                removeFromIndex(record.key, ownerHash: Self.ownerHash(previousOwner))
            }
            return .saved(newVersion)
        }
    }

    /// Moves a live record's expiry, keeping its data and version.
    ///
    /// A missing, expired or unreadable record is left as it is: touching never creates one.
    ///
    /// - Parameters:
    ///   - key: The hashed session id.
    ///   - expiresAt: The new expiry, kept to the millisecond.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the file cannot be read or rewritten.
    public func touch(_ key: SessionKey, expiresAt: Date) async throws {
        try await threadPool.run { try self.touchBlocking(key, expiresAt: expiresAt) }
    }

    private func touchBlocking(_ key: SessionKey, expiresAt: Date) throws {
        let expiresAt = try milliseconds(expiresAt)
        let target = path(for: key)
        try withLock(for: key) {
            guard case .record(let stored) = try readFile(at: target), Self.isLive(stored.expiresAt, now: clock.now())
            else { return }
            guard stored.expiresAt != expiresAt else { return }
            let temporary = try writeTemporaryFile(
                FileStoreFormat.encode(data: stored.data, version: stored.version, expiresAt: expiresAt, owner: stored.owner)
            )
            var renamed = false
            defer {
                if !renamed { removeQuietly(temporary) }
            }
            guard let owner = stored.owner else {
                try renameFile(temporary, to: target)
                renamed = true
                return
            }
            // A prune holding the owner's lock may have found the record expired a
            // moment ago and dropped its key: extend it only if it is still live now.
            try withOwnerLock(Self.ownerHash(owner)) {
                guard Self.isLive(stored.expiresAt, now: clock.now()) else { return }
                try renameFile(temporary, to: target)
                renamed = true
            }
        }
    }

    /// Removes the record under `key`, and its key from its owner's index; a
    /// missing record is a no-op.
    ///
    /// - Parameter key: The hashed session id.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the file exists but cannot be removed.
    public func delete(_ key: SessionKey) async throws {
        try await threadPool.run { try self.deleteBlocking(key) }
    }

    private func deleteBlocking(_ key: SessionKey) throws {
        let target = path(for: key)
        try withLock(for: key) {
            // The owner is only needed to tidy its index: a file that cannot be read is removed all the same.
            let owner: String? =
                if case .record(let stored)? = try? readFile(at: target) { stored.owner } else { nil }
            try removeFile(target)
            if let owner { removeFromIndex(key, ownerHash: Self.ownerHash(owner)) }
        }
    }

    /// The live records saved with `owner`, in no particular order, page by page.
    ///
    /// - Warning: O(sessions of the owner); see ``sessions(of:limit:cursor:)``
    ///   for the work of each page.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: The owner's live records, with their versions.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the index or a session file cannot be read for any reason other than not existing.
    public func sessions(of owner: String) async throws -> [StoredSession] {
        try await allSessions(of: owner)
    }

    /// One page of the live records saved with `owner`, in key order.
    ///
    /// Reads the owner's index file (65 bytes per key of the owner, one
    /// sequential read), then at most `limit` session files: the keys after the
    /// cursor in hex order. Listed keys whose file is missing, expired, unreadable
    /// or names another owner are pruned from the index.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - limit: The most session files to read, clamped to 1 to ``SessionOwnerPage/maximumLimit``.
    ///   - cursor: `nil`, or the previous page's cursor (the last key's hex).
    /// - Returns: The page.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the index or a session file cannot be read for any reason other than not existing.
    public func sessions(of owner: String, limit: Int, cursor: SessionOwnerCursor?) async throws -> SessionOwnerPage {
        try await threadPool.run { try self.sessionsBlocking(of: owner, limit: limit, cursor: cursor) }
    }

    private func sessionsBlocking(of owner: String, limit: Int, cursor: SessionOwnerCursor?) throws -> SessionOwnerPage {
        let hash = Self.ownerHash(owner)
        let now = clock.now()
        let limit = SessionOwnerPage.clamped(limit)
        let after = cursor?.rawValue ?? ""
        let following = try indexedKeys(ownerHash: hash).filter { $0.hex > after }
        let page = following.count > limit ? Array(following.sorted { $0.hex < $1.hex }.prefix(limit)) : following
        var live: [StoredSession] = []
        var stale: Set<SessionKey> = []
        for key in page {
            if case .record(let stored) = try readFile(at: path(for: key)),
                SessionPayload.isSameOwner(stored.owner, owner),
                Self.isLive(stored.expiresAt, now: now)
            {
                live.append(stored.session(under: key))
            } else {
                stale.insert(key)
            }
        }
        if !stale.isEmpty { pruneIndexLoggingFailure(ownerHash: hash, candidates: stale) }
        let next = following.count > limit ? page.map(\.hex).max().map(SessionOwnerCursor.init) : nil
        return SessionOwnerPage(sessions: live, nextCursor: next)
    }

    /// Removes every record saved with `owner` except the one under `key`, page by page.
    ///
    /// - Warning: O(sessions of the owner); see ``deleteSessions(of:except:limit:)``
    ///   for the work of each step.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: The record to keep, or `nil` to remove them all.
    /// - Returns: How many live records were removed (expired ones are removed
    ///   too, but not counted).
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the index or a session file cannot be read or removed; the
    ///   sessions removed before the failure stay removed.
    @discardableResult
    public func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int {
        try await deleteAllSessions(of: owner, except: key)
    }

    /// Removes at most `limit` records saved with `owner`, except the one under `key`.
    ///
    /// Reads the owner's index file, then removes at most `limit` listed session
    /// files that still name the owner, under each session's lock as
    /// ``delete(_:)`` does, and rewrites the index without them: one read and
    /// one rewrite of the index (65 bytes per key) and at most `limit` session
    /// files read and unlinked. Sessions saved with the owner after the index was
    /// read are kept.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: The record to keep, or `nil`.
    ///   - limit: The most session files to remove, clamped to 1 to ``SessionOwnerPage/maximumLimit``.
    /// - Returns: How many live records were removed (expired ones are removed
    ///   too, but not counted), and whether the index lists others.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the index or a session file cannot be read or removed; the
    ///   sessions removed before the failure stay removed.
    public func deleteSessions(of owner: String, except key: SessionKey?, limit: Int) async throws -> SessionOwnerDeletion {
        try await threadPool.run { try self.deleteSessionsBlocking(of: owner, except: key, limit: limit) }
    }

    private func deleteSessionsBlocking(of owner: String, except key: SessionKey?, limit: Int) throws -> SessionOwnerDeletion {
        let hash = Self.ownerHash(owner)
        let now = clock.now()
        let limit = SessionOwnerPage.clamped(limit)
        let listed = try indexedKeys(ownerHash: hash).filter { $0 != key }
        var deleted = 0
        var removed: Set<SessionKey> = []
        for candidate in listed.prefix(limit) {
            let target = path(for: candidate)
            try withLock(for: candidate) {
                guard case .record(let stored) = try readFile(at: target), SessionPayload.isSameOwner(stored.owner, owner) else { return }
                try removeFile(target)
                if Self.isLive(stored.expiresAt, now: now) { deleted += 1 }
            }
            removed.insert(candidate)
        }
        // Thrown, not logged: a caller repeating while `hasMore` must not meet the same keys again.
        if !removed.isEmpty { try pruneIndex(ownerHash: hash, candidates: removed) }
        return SessionOwnerDeletion(deleted: deleted, hasMore: listed.count > limit)
    }

    /// Removes expired and unreadable session files, and temporary files left by
    /// writers that crashed more than ten minutes ago, then prunes the owner
    /// indexes: keys whose session file is missing, expired, unreadable or names
    /// another owner leave their index, and an index left empty (or unreadable) is removed.
    ///
    /// Files whose names are neither session keys nor temporary files are left alone.
    ///
    /// - Returns: How many session files were removed (temporary files are not counted).
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the directory cannot be listed or a file cannot be read or removed.
    @discardableResult
    public func sweepExpired() throws -> Int {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "could not list the session directory '\(directory)'; check that it exists and is readable",
                cause: error
            )
        }
        let now = clock.now()
        var removed = 0
        for fileName in names {
            if let key = SessionKey(hex: fileName) {
                // Read without the lock first: most files are live and need nothing.
                if case .record(let stored) = try readFile(at: path(for: key)), Self.isLive(stored.expiresAt, now: now) {
                    continue
                }
                if try removeIfUnusable(key) { removed += 1 }
            } else if fileName.hasPrefix(Self.temporaryPrefix) {
                let path = directory + "/" + fileName
                if let modified = Self.modificationTime(path),
                    now.timeIntervalSince1970 - modified > Self.staleTemporaryFileAge
                {
                    removeQuietly(path)
                }
            }
        }
        try sweepOwnerIndexes()
        return removed
    }

    /// Removes expired files every ``Configuration/sweepInterval`` until the
    /// calling task is cancelled.
    ///
    /// Returns normally on cancellation. A failed sweep is logged at `error` and
    /// retried at the next interval rather than ending the loop.
    public func run() async throws {
        await SessionStoreSweeper(interval: configuration.sweepInterval, storeName: name, logger: logger).run {
            try await threadPool.run { try self.sweepExpired() }
        }
    }
}

// MARK: - Files

extension FileStore {
    private enum FileContents {
        case absent
        case corrupt(String)
        case record(FileStoreFormat.Record)
    }

    private func path(for key: SessionKey) -> String {
        directory + "/" + key.hex
    }

    /// Reads and checks one session file. Takes no lock: files are only ever
    /// replaced by `rename`, so an open file never changes under the reader.
    private func readFile(at path: String) throws -> FileContents {
        switch try readWholeFile(at: path, what: "a session file") {
        case .absent:
            return .absent
        case .notAFile:
            return .corrupt("not a regular file")
        case .bytes(let bytes):
            switch FileStoreFormat.decode(bytes) {
            case .success(let record): return .record(record)
            case .failure(let problem): return .corrupt(problem.reason)
            }
        }
    }

    private enum RawFile {
        case absent
        case notAFile
        case bytes([UInt8])
    }

    /// Reads a whole file; `what` names it in errors, for example `a session file`.
    private func readWholeFile(at path: String, what: String) throws -> RawFile {
        let descriptor = Self.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { return .absent }
            throw unavailable("open \(what)", code)
        }
        defer { _ = close(descriptor) }

        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw unavailable("inspect \(what)", errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .notAFile }
        let size = Int(info.st_size)
        let bytes = try [UInt8](unsafeUninitializedCapacity: size) { buffer, initializedCount in
            initializedCount = try readFully(descriptor, into: UnsafeMutableRawBufferPointer(buffer), what: what)
        }
        return .bytes(bytes)
    }

    private func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, what: String) throws -> Int {
        var total = 0
        while total < buffer.count {
            let count = read(descriptor, buffer.baseAddress! + total, buffer.count - total)
            if count > 0 {
                total += count
            } else if count == 0 {
                break
            } else {
                let code = errno
                if code == EINTR { continue }
                throw unavailable("read \(what)", code)
            }
        }
        return total
    }

    /// Writes `contents` to a new temporary file in the directory and flushes it to disk.
    ///
    /// - Returns: The temporary file's path.
    private func writeTemporaryFile(_ contents: [UInt8]) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let suffix = String(generator.next() as UInt64, radix: 16)
        let path = directory + "/" + Self.temporaryPrefix + suffix
        let descriptor = Self.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw unavailable("create a temporary session file", errno) }

        var failure: SessionStoreError?
        contents.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let count = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count >= 0 {
                    written += count
                } else {
                    let code = errno
                    if code == EINTR { continue }
                    failure = unavailable("write a session file", code)
                    return
                }
            }
        }
        if failure == nil, fsync(descriptor) != 0 {
            failure = unavailable("flush a session file to disk", errno)
        }
        // A failing `close` can report a write that did not reach the disk.
        if close(descriptor) != 0, failure == nil {
            failure = unavailable("close a session file", errno)
        }
        if let failure {
            removeQuietly(path)
            throw failure
        }
        return path
    }

    private func renameFile(_ source: String, to target: String) throws {
        guard rename(source, target) == 0 else { throw unavailable("replace a session file", errno) }
    }

    /// Removes a file; a missing file is fine.
    private func removeFile(_ path: String) throws {
        guard unlink(path) == 0 else {
            let code = errno
            if code == ENOENT { return }
            throw unavailable("remove a session file", code)
        }
    }

    /// Removes a temporary file on a path that is already failing or finished; errors are moot.
    private func removeQuietly(_ path: String) {
        _ = unlink(path)
    }

    /// Removes the file under `key` if, inside the lock, it is still expired or unreadable.
    ///
    /// - Returns: Whether a file was removed.
    @discardableResult
    private func removeIfUnusable(_ key: SessionKey) throws -> Bool {
        let target = path(for: key)
        return try withLock(for: key) { () throws -> Bool in
            switch try readFile(at: target) {
            case .absent:
                return false
            case .record(let stored):
                guard !Self.isLive(stored.expiresAt, now: clock.now()) else { return false }
            case .corrupt(let reason):
                logUnreadable(key, reason: reason, action: "Removing")
            }
            try removeFile(target)
            return true
        }
    }

    private func logUnreadable(_ key: SessionKey, reason: String, action: String) {
        logger.warning(
            "\(action) an unreadable session file",
            metadata: [
                "sessionkit.store": "\(name)",
                "sessionkit.session": "\(key.fingerprint)",
                "sessionkit.reason": "\(reason)",
            ]
        )
    }

    /// Runs `body` holding the exclusive `flock` on the key's stripe, `.locks/<first byte>`.
    private func withLock<Result>(for key: SessionKey, _ body: () throws -> Result) throws -> Result {
        try withLock(named: String(key.hex.prefix(2)), body)
    }

    /// Runs `body` holding the exclusive `flock` on the owner's stripe,
    /// `.locks/owner-<first byte of the owner hash>`.
    ///
    /// Take it inside a session's lock or alone, never the other way round, and
    /// never two owner locks at once: the stripes are shared, and a second
    /// `flock` on a stripe this task already holds would wait for itself.
    private func withOwnerLock<Result>(_ ownerHash: String, _ body: () throws -> Result) throws -> Result {
        try withLock(named: "owner-" + ownerHash.prefix(2), body)
    }

    /// Runs `body` holding the exclusive `flock` on `.locks/<name>`.
    ///
    /// Each call opens its own descriptor, because `flock` excludes open file
    /// descriptions, not threads: tasks of one process exclude each other exactly
    /// as processes do. Closing the descriptor releases the lock.
    private func withLock<Result>(named name: String, _ body: () throws -> Result) throws -> Result {
        let path = lockDirectory + "/" + name
        var descriptor = Self.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor < 0 && errno == ENOENT {
            // Someone removed the lock directory (for example a clean-up of hidden files); recreate it.
            _ = mkdir(lockDirectory, 0o700)
            descriptor = Self.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        }
        guard descriptor >= 0 else { throw unavailable("open a lock file", errno) }
        defer { _ = close(descriptor) }
        while flock(descriptor, LOCK_EX) != 0 {
            let code = errno
            if code == EINTR { continue }
            throw unavailable("lock a lock file", code)
        }
        return try body()
    }

    private func unavailable(_ action: String, _ code: Int32) -> SessionStoreError {
        let cause: any Error =
            POSIXErrorCode(rawValue: code).map { POSIXError($0) } ?? NSError(domain: NSPOSIXErrorDomain, code: Int(code))
        return SessionStoreError(
            code: .unavailable,
            storeName: name,
            message: "could not \(action) in '\(directory)': \(Self.describe(code)); "
                + "check that the directory exists, is writable by this process and its disk is not full",
            cause: cause
        )
    }

    private func milliseconds(_ date: Date) throws -> Int64 {
        let milliseconds = (date.timeIntervalSince1970 * 1000).rounded()
        // Int64 holds about ±292 million years of milliseconds; beyond that (or NaN) is not a real expiry.
        guard milliseconds.isFinite, abs(milliseconds) < 9.2e18 else {
            throw SessionStoreError(
                code: .invalidData,
                storeName: name,
                message: "a record's expiry is out of the range a file can hold; pass a real date"
            )
        }
        return Int64(milliseconds)
    }

    private static func isLive(_ expiresAt: Int64, now: Date) -> Bool {
        Double(expiresAt) > now.timeIntervalSince1970 * 1000
    }

    private static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        while true {
            #if canImport(Darwin)
                let descriptor = Darwin.open(path, flags, mode)
            #elseif canImport(Musl)
                let descriptor = Musl.open(path, flags, mode)
            #else
                let descriptor = Glibc.open(path, flags, mode)
            #endif
            if descriptor >= 0 || errno != EINTR { return descriptor }
        }
    }

    private static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The file's modification time in seconds since 1970, or `nil` when it cannot be read.
    private static func modificationTime(_ path: String) -> TimeInterval? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
            return TimeInterval(info.st_mtimespec.tv_sec) + TimeInterval(info.st_mtimespec.tv_nsec) / 1e9
        #else
            return TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9
        #endif
    }

    private static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

// MARK: - Owner index

extension FileStore {
    private enum IndexContents {
        case absent
        case corrupt(String)
        case keys([SessionKey])
    }

    /// The hex SHA-256 of the owner id: the name of its index file, so the id never appears in a file name.
    static func ownerHash(_ owner: String) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in SHA256.hash(data: Array(owner.utf8)) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    private func indexPath(_ ownerHash: String) -> String {
        ownerDirectory + "/" + ownerHash
    }

    /// Reads an owner's index file. Takes no lock: index files are only ever replaced by `rename`.
    private func readIndex(ownerHash: String) throws -> IndexContents {
        switch try readWholeFile(at: indexPath(ownerHash), what: "an owner index file") {
        case .absent: return .absent
        case .notAFile: return .corrupt("not a regular file")
        case .bytes(let bytes):
            guard let keys = FileStoreFormat.decodeIndex(bytes) else {
                return .corrupt("not a list of session keys, one per line")
            }
            return .keys(keys)
        }
    }

    /// The keys an owner's index lists; an unreadable index is logged and read as empty.
    private func indexedKeys(ownerHash: String) throws -> [SessionKey] {
        switch try readIndex(ownerHash: ownerHash) {
        case .absent:
            return []
        case .corrupt(let reason):
            logUnreadableIndex(ownerHash, reason: reason)
            return []
        case .keys(let keys):
            return keys
        }
    }

    /// Replaces an owner's index with `keys`, or removes it when `keys` is empty.
    private func writeIndex(_ keys: [SessionKey], ownerHash: String) throws {
        let target = indexPath(ownerHash)
        guard !keys.isEmpty else {
            try removeFile(target)
            return
        }
        let temporary = try writeTemporaryFile(FileStoreFormat.encodeIndex(keys))
        if rename(temporary, target) == 0 { return }
        var code = errno
        if code == ENOENT {
            // Someone removed the index directory (for example a clean-up of hidden files); recreate it.
            _ = mkdir(ownerDirectory, 0o700)
            if rename(temporary, target) == 0 { return }
            code = errno
        }
        removeQuietly(temporary)
        throw unavailable("replace an owner index file", code)
    }

    /// Lists `key` in the owner's index unless it is there. Call inside the owner's lock.
    private func addToIndex(_ key: SessionKey, ownerHash: String) throws {
        switch try readIndex(ownerHash: ownerHash) {
        case .keys(let keys) where keys.contains(key):
            return
        case .keys(let keys):
            try writeIndex(keys + [key], ownerHash: ownerHash)
        case .absent:
            try writeIndex([key], ownerHash: ownerHash)
        case .corrupt(let reason):
            logUnreadableIndex(ownerHash, reason: reason)
            try writeIndex([key], ownerHash: ownerHash)
        }
    }

    /// Takes `key` out of the owner's index, taking the owner's lock. Call inside
    /// the key's lock, once its file no longer names the owner.
    ///
    /// A failure is logged, not thrown: the record change it follows has
    /// happened, and a stale key in an index is skipped and pruned later.
    private func removeFromIndex(_ key: SessionKey, ownerHash: String) {
        do {
            try withOwnerLock(ownerHash) {
                guard case .keys(let keys) = try readIndex(ownerHash: ownerHash), keys.contains(key) else { return }
                try writeIndex(keys.filter { $0 != key }, ownerHash: ownerHash)
            }
        } catch {
            logIndexFailure(ownerHash, error: error)
        }
    }

    /// Whether the session file under `key` is a live record whose owner hashes to `ownerHash`.
    private func belongs(_ key: SessionKey, toOwnerHash ownerHash: String, now: Date) throws -> Bool {
        guard case .record(let stored) = try readFile(at: path(for: key)),
            Self.isLive(stored.expiresAt, now: now),
            let owner = stored.owner
        else { return false }
        return Self.ownerHash(owner) == ownerHash
    }

    /// Under the owner's lock, drops from its index the keys among `candidates`
    /// (all keys when `nil`) whose file is not a live record of the owner, and
    /// removes the index once it is empty or unreadable.
    ///
    /// The check happens inside the owner's lock, where every save and touch
    /// that makes a file a live record of the owner also renames it.
    private func pruneIndex(ownerHash: String, candidates: Set<SessionKey>?) throws {
        try withOwnerLock(ownerHash) {
            let keys: [SessionKey]
            switch try readIndex(ownerHash: ownerHash) {
            case .absent:
                return
            case .corrupt:
                try writeIndex([], ownerHash: ownerHash)
                return
            case .keys(let listed):
                keys = listed
            }
            let now = clock.now()
            let kept = try keys.filter { key in
                if let candidates, !candidates.contains(key) { return true }
                return try belongs(key, toOwnerHash: ownerHash, now: now)
            }
            if kept.count != keys.count { try writeIndex(kept, ownerHash: ownerHash) }
        }
    }

    /// ``pruneIndex(ownerHash:candidates:)`` after a read that succeeded: a failure is logged, not thrown.
    private func pruneIndexLoggingFailure(ownerHash: String, candidates: Set<SessionKey>) {
        do {
            try pruneIndex(ownerHash: ownerHash, candidates: candidates)
        } catch {
            logIndexFailure(ownerHash, error: error)
        }
    }

    /// Prunes every index file in `.owners`; see ``sweepExpired()``.
    private func sweepOwnerIndexes() throws {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: ownerDirectory)
        } catch {
            // No index directory (someone removed it): no index to prune; the next save recreates it.
            guard access(ownerDirectory, F_OK) == 0 else { return }
            throw SessionStoreError(
                code: .unavailable,
                storeName: name,
                message: "could not list the owner index directory '\(ownerDirectory)'; check that it is readable",
                cause: error
            )
        }
        let now = clock.now()
        for ownerHash in names where SessionKey(hex: ownerHash) != nil {
            // Read without the lock first: most indexes are current and need nothing.
            switch try readIndex(ownerHash: ownerHash) {
            case .absent:
                continue
            case .corrupt(let reason):
                logUnreadableIndex(ownerHash, reason: reason)
                try pruneIndex(ownerHash: ownerHash, candidates: nil)
            case .keys(let keys):
                let stale = try keys.filter { try !belongs($0, toOwnerHash: ownerHash, now: now) }
                if !stale.isEmpty { try pruneIndex(ownerHash: ownerHash, candidates: Set(stale)) }
            }
        }
    }

    private func logUnreadableIndex(_ ownerHash: String, reason: String) {
        logger.warning(
            "Reading an unreadable owner index file as empty",
            metadata: [
                "sessionkit.store": "\(name)",
                "sessionkit.owner-hash": "\(ownerHash)",
                "sessionkit.reason": "\(reason)",
            ]
        )
    }

    private func logIndexFailure(_ ownerHash: String, error: any Error) {
        logger.warning(
            "Could not update an owner index file; its stale keys are pruned later",
            metadata: [
                "sessionkit.store": "\(name)",
                "sessionkit.owner-hash": "\(ownerHash)",
                "sessionkit.error": "\(error)",
            ]
        )
    }
}

// MARK: - Format

/// The on-disk layout of one session file and of an owner index file; see ``FileStore``.
enum FileStoreFormat {
    static let magic: [UInt8] = Array("SKSF".utf8)
    /// The version files are written in; version 1 (no owner) is still read.
    static let formatVersion: UInt32 = 2
    /// Magic, format version, record version, expiry and data length: the start of every version.
    static let prefixSize = 32
    static let checksumSize = 8
    /// The owner length that stands for no owner.
    static let noOwner: UInt32 = 0xFFFF_FFFF
    /// The longest owner id the format holds, in UTF-8 bytes.
    static let maximumOwnerLength = Int(noOwner - 1)

    struct Record {
        var data: [UInt8]
        var version: UInt64
        /// Milliseconds since 1970.
        var expiresAt: Int64
        var owner: String?

        func session(under key: SessionKey) -> StoredSession {
            StoredSession(
                record: SessionRecord(
                    key: key,
                    data: data,
                    expiresAt: Date(timeIntervalSince1970: Double(expiresAt) / 1000),
                    owner: owner
                ),
                version: SessionVersion(version)
            )
        }
    }

    struct Problem: Error {
        var reason: String
    }

    /// Encodes a record in format version 2.
    static func encode(data: [UInt8], version: UInt64, expiresAt: Int64, owner: String?) -> [UInt8] {
        let ownerBytes = owner.map { Array($0.utf8) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(prefixSize + 4 + (ownerBytes?.count ?? 0) + checksumSize + data.count)
        bytes.append(contentsOf: magic)
        append(formatVersion, to: &bytes)
        append(version, to: &bytes)
        append(UInt64(bitPattern: expiresAt), to: &bytes)
        append(UInt64(data.count), to: &bytes)
        if let ownerBytes {
            append(UInt32(ownerBytes.count), to: &bytes)
            bytes.append(contentsOf: ownerBytes)
        } else {
            append(noOwner, to: &bytes)
        }
        bytes.append(contentsOf: checksum(header: bytes[...], data: data[...]))
        bytes.append(contentsOf: data)
        return bytes
    }

    /// Checks and decodes a whole file of format version 1 or 2.
    static func decode(_ bytes: [UInt8]) -> Result<Record, Problem> {
        guard bytes.count >= prefixSize else {
            return .failure(Problem(reason: "truncated: \(bytes.count) bytes, shorter than the header"))
        }
        guard Array(bytes[0..<4]) == magic else {
            return .failure(Problem(reason: "not a session file (bad magic)"))
        }
        let format = UInt32(truncatingIfNeeded: integer(bytes, at: 4, size: 4))
        var checksumOffset = prefixSize
        var ownerBytes: ArraySlice<UInt8>?
        switch format {
        case 1:
            break
        case 2:
            guard bytes.count >= prefixSize + 4 else { return .failure(Problem(reason: "truncated header")) }
            let ownerLength = UInt32(truncatingIfNeeded: integer(bytes, at: prefixSize, size: 4))
            checksumOffset += 4
            if ownerLength != noOwner {
                guard UInt64(ownerLength) <= UInt64(bytes.count - checksumOffset) else {
                    return .failure(Problem(reason: "impossible owner length \(ownerLength)"))
                }
                ownerBytes = bytes[checksumOffset..<checksumOffset + Int(ownerLength)]
                checksumOffset += Int(ownerLength)
            }
        default:
            return .failure(Problem(reason: "unknown format version \(format)"))
        }
        let headerSize = checksumOffset + checksumSize
        guard bytes.count >= headerSize else { return .failure(Problem(reason: "truncated header")) }
        let dataLength = integer(bytes, at: 24, size: 8)
        guard dataLength == UInt64(bytes.count - headerSize) else {
            return .failure(
                Problem(reason: "the header promises \(dataLength) data bytes but the file holds \(bytes.count - headerSize)")
            )
        }
        let data = bytes[headerSize...]
        guard bytes[checksumOffset..<headerSize].elementsEqual(checksum(header: bytes[0..<checksumOffset], data: data))
        else {
            return .failure(Problem(reason: "checksum mismatch"))
        }
        var owner: String?
        if let ownerBytes {
            guard let text = String(validating: ownerBytes, as: UTF8.self) else {
                return .failure(Problem(reason: "the owner is not UTF-8"))
            }
            owner = text
        }
        return .success(
            Record(
                data: Array(data),
                version: integer(bytes, at: 8, size: 8),
                expiresAt: Int64(bitPattern: integer(bytes, at: 16, size: 8)),
                owner: owner
            )
        )
    }

    /// An owner index file: each key's hex followed by a newline.
    static func encodeIndex(_ keys: [SessionKey]) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(keys.count * 65)
        for key in keys {
            bytes.append(contentsOf: key.hex.utf8)
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    /// The keys of an owner index file, without repeats; `nil` unless every line is a key.
    static func decodeIndex(_ bytes: [UInt8]) -> [SessionKey]? {
        guard bytes.count % 65 == 0 else { return nil }
        var keys: [SessionKey] = []
        keys.reserveCapacity(bytes.count / 65)
        var seen: Set<SessionKey> = []
        for start in stride(from: 0, to: bytes.count, by: 65) {
            guard bytes[start + 64] == UInt8(ascii: "\n"),
                let key = SessionKey(hex: String(decoding: bytes[start..<start + 64], as: UTF8.self))
            else { return nil }
            if seen.insert(key).inserted { keys.append(key) }
        }
        return keys
    }

    private static func checksum(header: ArraySlice<UInt8>, data: ArraySlice<UInt8>) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: header)
        hasher.update(data: data)
        return Array(hasher.finalize().prefix(checksumSize))
    }

    private static func append<Integer: FixedWidthInteger>(_ value: Integer, to bytes: inout [UInt8]) {
        var value = value.littleEndian
        withUnsafeBytes(of: &value) { bytes.append(contentsOf: $0) }
    }

    private static func integer(_ bytes: [UInt8], at offset: Int, size: Int) -> UInt64 {
        // Callers check that `offset + size` is within `bytes`.
        var value: UInt64 = 0
        for index in (offset..<offset + size).reversed() {
            value = value << 8 | UInt64(bytes[index])
        }
        return value
    }
}
