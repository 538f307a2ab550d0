public import Foundation

/// A store's version of a record, used for compare-and-swap.
///
/// Stores hand out versions from ``SessionStore/load(_:)`` and
/// ``SessionStore/save(_:expecting:)``; the engine only passes them back.
/// A store may use any scheme (a counter is usual) as long as a record's
/// version changes on every successful save.
public struct SessionVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The version's value.
    public var rawValue: UInt64

    /// Creates a version from its stored value.
    ///
    /// - Parameter rawValue: The value the store kept.
    public init(_ rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// The version that follows this one.
    public var next: SessionVersion { SessionVersion(rawValue &+ 1) }

    /// The first version a newly created record gets from the built-in stores.
    public static let initial = SessionVersion(1)

    /// Orders versions by value.
    public static func < (lhs: SessionVersion, rhs: SessionVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The version's value as text.
    public var description: String { String(rawValue) }
}

/// What a store keeps for one session: opaque bytes under the hashed id, and
/// the moment the record stops being valid.
///
/// The engine owns the encoding of ``data``; a store keeps and returns the
/// bytes exactly as given.
public struct SessionRecord: Sendable, Hashable {
    /// The hashed session id the record is kept under.
    public var key: SessionKey
    /// The encoded session, opaque to the store.
    public var data: [UInt8]
    /// When the record expires. A store treats a record at or past this moment as absent.
    public var expiresAt: Date
    /// The owner the session is bound to (the signed-in user's id), for stores
    /// with a ``SessionOwnerIndex``; `nil` for an anonymous session. Stores without
    /// an owner index may ignore it: the engine keeps the owner in ``data`` too.
    public var owner: String?

    /// Creates a record.
    ///
    /// - Parameters:
    ///   - key: The hashed session id.
    ///   - data: The encoded session.
    ///   - expiresAt: When the record expires.
    ///   - owner: The owner to index the session under, if any.
    public init(key: SessionKey, data: [UInt8], expiresAt: Date, owner: String? = nil) {
        self.key = key
        self.data = data
        self.expiresAt = expiresAt
        self.owner = owner
    }
}

/// A record as loaded from a store, with the version to pass back on save.
public struct StoredSession: Sendable, Hashable {
    /// The record.
    public var record: SessionRecord
    /// The version the store holds; pass it to ``SessionStore/save(_:expecting:)``.
    public var version: SessionVersion

    /// Creates a loaded record.
    ///
    /// - Parameters:
    ///   - record: The record.
    ///   - version: The version the store holds.
    public init(record: SessionRecord, version: SessionVersion) {
        self.record = record
        self.version = version
    }
}

/// The outcome of a compare-and-swap save.
public enum SessionSaveResult: Sendable, Hashable {
    /// The record was written; it now has this version.
    case saved(SessionVersion)
    /// The store's record did not have the expected version (or, when none was
    /// expected, already existed; or, when one was expected, no longer exists).
    /// Nothing was written.
    case conflict
}

/// Keeps session records, keyed by the hashed session id, with compare-and-swap.
///
/// A store never sees a raw token, never encodes, and never decides policy:
/// the ``SessionEngine`` does. Every store must pass the conformance suite in
/// `SessionKitConformance`.
///
/// The contract, for every requirement:
/// - Absence is `nil` or a no-op, never an error: a missing, expired or
///   unreadable record is "not found".
/// - Errors are for system failures only (the store cannot be reached, a disk
///   is full); throw ``SessionStoreError``. The engine wraps any other error with
///   the store's ``name`` and answers `503`.
/// - A save is never a blind upsert. It is create-if-absent (`expecting: nil`) or
///   update-if-the-version-matches, so a slow request cannot bring back a
///   session that another request deleted.
///
/// ```swift
/// let store = MemoryStore()
/// let token = SessionToken.generate()
/// let record = SessionRecord(key: token.key, data: Array("{}".utf8), expiresAt: .now + 1800)
/// guard case .saved(let version) = try await store.save(record, expecting: nil) else { return }
/// let loaded = try await store.load(token.key)   // StoredSession(record: record, version: version)
/// ```
public protocol SessionStore: Sendable {
    /// A short name for logs and error messages, for example `memory`, `file`, `redis`.
    var name: String { get }

    /// Whether the store's calls block the calling thread on I/O (the file
    /// store's reads, writes and `fsync`). Adapters keep such a store's calls off
    /// the server's event loops; for the others they may run the whole session
    /// work on the request's event loop, which saves thread hops. Default `false`.
    var blocksCallingThread: Bool { get }

    /// Loads the record kept under `key`.
    ///
    /// - Parameter key: The hashed session id.
    /// - Returns: The record and its version; `nil` when there is no record,
    ///   it has expired (`expiresAt <= now`), or it cannot be read (a corrupt or
    ///   truncated entry, which the store may log and remove).
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    func load(_ key: SessionKey) async throws -> StoredSession?

    /// Writes a record if the store's version is the expected one.
    ///
    /// - Parameters:
    ///   - record: The record to write.
    ///   - version: `nil` to create: succeeds only if no live record exists under
    ///     the key (an expired one may be replaced). A version to update:
    ///     succeeds only if a live record with exactly this version exists.
    /// - Returns: ``SessionSaveResult/saved(_:)`` with the new version, or
    ///   ``SessionSaveResult/conflict`` when nothing was written.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult

    /// Moves a live record's expiry to `expiresAt` without changing its data or version.
    ///
    /// A missing or expired record stays missing: touching never creates one.
    ///
    /// - Parameters:
    ///   - key: The hashed session id.
    ///   - expiresAt: The new expiry.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    func touch(_ key: SessionKey, expiresAt: Date) async throws

    /// Removes the record under `key`; a missing record is a no-op.
    ///
    /// - Parameter key: The hashed session id.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    func delete(_ key: SessionKey) async throws
}

extension SessionStore {
    /// `false`: a store's calls are asynchronous unless it says otherwise.
    public var blocksCallingThread: Bool { false }
}

/// A store that can list and remove the sessions of one owner, for "log out my
/// other devices" and "log out everywhere" (after a password change).
///
/// The index follows ``SessionRecord/owner`` on every save: a record saved with
/// an owner is listed under it, a record saved with another owner or none moves
/// or leaves, and a deleted or expired record is never listed. Each requirement
/// is one store round trip or a bounded few; none scans every session.
public protocol SessionOwnerIndex: SessionStore {
    /// The live sessions bound to `owner`, in no particular order.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: Every record saved with this owner that is neither deleted nor
    ///   expired; expired entries found on the way may be removed from the index.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    func sessions(of owner: String) async throws -> [StoredSession]

    /// Deletes every session bound to `owner`, except the one under `key`.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep (the caller's own), or `nil` to delete them all.
    /// - Returns: How many sessions were deleted.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    @discardableResult
    func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int
}

/// Tells the engine the current time, as a `Date` that can be written to a store.
///
/// Inject a manual clock in tests to check expiry without sleeping.
public protocol SessionClock: Sendable {
    /// The current time.
    func now() -> Date
}

/// The system's wall clock.
public struct SystemSessionClock: SessionClock {
    /// Creates the system clock.
    public init() {}

    /// The current time from `Date()`.
    public func now() -> Date { Date() }
}
