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
/// never the token), holding a 40-byte header and the data. The store never
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
/// The store does not do network file systems (`flock` and `rename` are not
/// reliable there), does not `fsync` the directory after a rename (after a power
/// failure a session may fall back to its previous version, never to a torn
/// one), and does not cap the number of sessions. Blocking file I/O runs on the
/// calling task's thread; each call is a handful of system calls on small files.
///
/// The file format (all integers little-endian):
///
/// | Offset | Size | Field |
/// |-------:|-----:|-------|
/// | 0      | 4    | magic `SKSF` |
/// | 4      | 4    | format version, `1` |
/// | 8      | 8    | record version (``SessionVersion/rawValue``) |
/// | 16     | 8    | expiry, signed milliseconds since 1970-01-01T00:00:00Z |
/// | 24     | 8    | data length `n` |
/// | 32     | 8    | the first 8 bytes of SHA-256 over bytes 0..<32 and the data |
/// | 40     | n    | data |
///
/// ```swift
/// let store = try FileStore(directory: "/var/lib/myapp/sessions")
/// let sweeper = Task { try await store.run() }   // removes expired files every 5 minutes
/// // ... serve requests ...
/// sweeper.cancel()
/// ```
public final class FileStore: SessionStore {
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

    /// The absolute path of the directory that holds the session files.
    public let directory: String

    /// The store's settings.
    public let configuration: Configuration

    private let lockDirectory: String
    private let clock: any SessionClock
    private let logger: Logger

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
    public init(
        directory: String,
        configuration: Configuration = .init(),
        clock: any SessionClock = SystemSessionClock(),
        logger: Logger = Logger(label: "sessionkit.file-store")
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

        self.directory = path
        self.lockDirectory = lockDirectory
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    /// Loads the record kept under `key`.
    ///
    /// - Parameter key: The hashed session id.
    /// - Returns: The record and its version; `nil` when there is no file, it has
    ///   expired, or it is truncated or corrupt. Expired and unreadable files are
    ///   removed, unreadable ones logged at `warning`.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the file cannot be read for any reason other than not existing.
    public func load(_ key: SessionKey) async throws -> StoredSession? {
        switch try readFile(at: path(for: key)) {
        case .absent:
            return nil
        case .record(let stored) where Self.isLive(stored.expiresAt, now: clock.now()):
            return StoredSession(
                record: SessionRecord(key: key, data: stored.data, expiresAt: Self.date(stored.expiresAt)),
                version: SessionVersion(stored.version)
            )
        case .record, .corrupt:
            try removeIfUnusable(key)
            return nil
        }
    }

    /// Creates or updates a record with compare-and-swap across processes.
    ///
    /// A new record gets ``SessionVersion/initial``, or the version after that of
    /// an expired record it replaces; an update gets the next version. The expiry
    /// is kept to the millisecond.
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
    ///   is outside the range the format can hold.
    public func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        let expiresAt = try milliseconds(record.expiresAt)
        let target = path(for: record.key)
        var newVersion = version?.next ?? .initial
        // Write and flush outside the lock, so the critical section is a read and a rename.
        var temporary = try writeTemporaryFile(
            FileStoreFormat.encode(data: record.data, version: newVersion.rawValue, expiresAt: expiresAt)
        )
        var renamed = false
        defer {
            if !renamed { removeQuietly(temporary) }
        }
        return try withLock(for: record.key) { () throws -> SessionSaveResult in
            switch try readFile(at: target) {
            case .record(let stored) where Self.isLive(stored.expiresAt, now: clock.now()):
                guard let version, stored.version == version.rawValue else { return .conflict }
            case .record(let stored):
                guard version == nil else { return .conflict }
                // Give the replacement a version the expired record never had, so a
                // request still holding the old version cannot overwrite the new record.
                if stored.version >= newVersion.rawValue {
                    newVersion = SessionVersion(stored.version).next
                    removeQuietly(temporary)
                    temporary = try writeTemporaryFile(
                        FileStoreFormat.encode(data: record.data, version: newVersion.rawValue, expiresAt: expiresAt)
                    )
                }
            case .corrupt(let reason):
                guard version == nil else { return .conflict }
                logUnreadable(record.key, reason: reason, action: "Replacing")
            case .absent:
                guard version == nil else { return .conflict }
            }
            try renameFile(temporary, to: target)
            renamed = true
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
        let expiresAt = try milliseconds(expiresAt)
        let target = path(for: key)
        try withLock(for: key) {
            guard case .record(let stored) = try readFile(at: target), Self.isLive(stored.expiresAt, now: clock.now())
            else { return }
            guard stored.expiresAt != expiresAt else { return }
            let temporary = try writeTemporaryFile(
                FileStoreFormat.encode(data: stored.data, version: stored.version, expiresAt: expiresAt)
            )
            do {
                try renameFile(temporary, to: target)
            } catch {
                removeQuietly(temporary)
                throw error
            }
        }
    }

    /// Removes the record under `key`; a missing record is a no-op.
    ///
    /// - Parameter key: The hashed session id.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/unavailable``
    ///   when the file exists but cannot be removed.
    public func delete(_ key: SessionKey) async throws {
        let target = path(for: key)
        try withLock(for: key) { try removeFile(target) }
    }

    /// Removes expired and unreadable session files, and temporary files left by
    /// writers that crashed more than ten minutes ago.
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
        return removed
    }

    /// Removes expired files every ``Configuration/sweepInterval`` until the
    /// calling task is cancelled.
    ///
    /// Returns normally on cancellation. A failed sweep is logged at `error` and
    /// retried at the next interval rather than ending the loop.
    public func run() async throws {
        let interval = configuration.sweepInterval
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                // `Task.sleep` only throws when the task is cancelled: that is the signal to stop.
                return
            }
            do {
                try sweepExpired()
            } catch {
                logger.error(
                    "Sweeping expired session files failed",
                    metadata: ["sessionkit.store": "\(name)", "sessionkit.error": "\(error)"]
                )
            }
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
        let descriptor = Self.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            if code == ENOENT { return .absent }
            throw unavailable("open a session file", code)
        }
        defer { _ = close(descriptor) }

        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw unavailable("inspect a session file", errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .corrupt("not a regular file") }
        let size = Int(info.st_size)
        guard size >= FileStoreFormat.headerSize else { return .corrupt("truncated: \(size) bytes, shorter than the header") }

        var header = [UInt8](repeating: 0, count: FileStoreFormat.headerSize)
        let headerCount = try header.withUnsafeMutableBytes { try readFully(descriptor, into: $0) }
        guard headerCount == FileStoreFormat.headerSize else { return .corrupt("truncated header") }
        let dataCount: Int
        switch FileStoreFormat.dataLength(header: header) {
        case .success(let length): dataCount = length
        case .failure(let problem): return .corrupt(problem.reason)
        }
        guard dataCount == size - FileStoreFormat.headerSize else {
            return .corrupt("the header promises \(dataCount) data bytes but the file holds \(size - FileStoreFormat.headerSize)")
        }
        let data = try [UInt8](unsafeUninitializedCapacity: dataCount) { buffer, initializedCount in
            initializedCount = try readFully(descriptor, into: UnsafeMutableRawBufferPointer(buffer))
        }
        guard data.count == dataCount else { return .corrupt("truncated data") }
        switch FileStoreFormat.decode(header: header, data: data) {
        case .success(let record): return .record(record)
        case .failure(let problem): return .corrupt(problem.reason)
        }
    }

    private func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
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
                throw unavailable("read a session file", code)
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
                "sessionkit.key": "\(key.hex)",
                "sessionkit.reason": "\(reason)",
            ]
        )
    }

    /// Runs `body` holding the exclusive `flock` on the key's stripe, `.locks/<first byte>`.
    ///
    /// Each call opens its own descriptor, because `flock` excludes open file
    /// descriptions, not threads: tasks of one process exclude each other exactly
    /// as processes do. Closing the descriptor releases the lock.
    private func withLock<Result>(for key: SessionKey, _ body: () throws -> Result) throws -> Result {
        let path = lockDirectory + "/" + key.hex.prefix(2)
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

    private static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
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

// MARK: - Format

/// The on-disk layout of one session file; see ``FileStore``.
enum FileStoreFormat {
    static let magic: [UInt8] = Array("SKSF".utf8)
    static let formatVersion: UInt32 = 1
    static let headerSize = 40
    static let checkedHeaderSize = 32
    static let checksumSize = 8

    struct Record {
        var data: [UInt8]
        var version: UInt64
        /// Milliseconds since 1970.
        var expiresAt: Int64
    }

    struct Problem: Error {
        var reason: String
    }

    static func encode(data: [UInt8], version: UInt64, expiresAt: Int64) -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(headerSize + data.count)
        bytes.append(contentsOf: magic)
        append(formatVersion, to: &bytes)
        append(version, to: &bytes)
        append(UInt64(bitPattern: expiresAt), to: &bytes)
        append(UInt64(data.count), to: &bytes)
        bytes.append(contentsOf: checksum(header: bytes[...], data: data))
        bytes.append(contentsOf: data)
        return bytes
    }

    /// Checks the fixed part of a header and returns the data length it announces.
    static func dataLength(header: [UInt8]) -> Result<Int, Problem> {
        guard header.count == headerSize, Array(header[0..<4]) == magic else {
            return .failure(Problem(reason: "not a session file (bad magic)"))
        }
        let format = UInt32(truncatingIfNeeded: integer(header, at: 4, size: 4))
        guard format == formatVersion else {
            return .failure(Problem(reason: "unknown format version \(format)"))
        }
        let length = integer(header, at: 24, size: 8)
        guard length <= UInt64(Int.max - headerSize) else {
            return .failure(Problem(reason: "impossible data length \(length)"))
        }
        return .success(Int(length))
    }

    static func decode(header: [UInt8], data: [UInt8]) -> Result<Record, Problem> {
        guard Array(header[checkedHeaderSize..<headerSize]) == checksum(header: header[0..<checkedHeaderSize], data: data)
        else {
            return .failure(Problem(reason: "checksum mismatch"))
        }
        return .success(
            Record(
                data: data,
                version: integer(header, at: 8, size: 8),
                expiresAt: Int64(bitPattern: integer(header, at: 16, size: 8))
            )
        )
    }

    private static func checksum(header: ArraySlice<UInt8>, data: [UInt8]) -> [UInt8] {
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
        var value: UInt64 = 0
        for index in (offset..<offset + size).reversed() {
            value = value << 8 | UInt64(bytes[index])
        }
        return value
    }
}
