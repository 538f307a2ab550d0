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

    /// Whether the store's calls block the calling thread on I/O (plain file
    /// system calls made on the caller's thread, for example). Adapters keep such
    /// a store's calls off the server's event loops; for the others they may run
    /// the whole session work on the request's event loop, which saves thread
    /// hops. Default `false`; ``FileStore`` is `false` too, because it runs its
    /// system calls on threads of its own.
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
/// or leaves, and a deleted or expired record is never listed. None of the
/// requirements scans every session.
///
/// The paged requirements, ``sessions(of:limit:cursor:)`` and
/// ``deleteSessions(of:except:limit:)``, do work bounded by their `limit` in
/// one store call (the built-in stores: at most ``SessionOwnerPage/maximumLimit``
/// records), however many sessions the owner has; the engine uses only these.
/// ``sessions(of:)`` and ``deleteSessions(of:except:)`` are O(sessions of the
/// owner) in one call; the built-in stores implement them by paging
/// (``allSessions(of:pageSize:)``, ``deleteAllSessions(of:except:pageSize:)``).
/// A store that implements only those two gets paged versions that call them
/// and so keep their cost: implement the paged requirements to bound it.
public protocol SessionOwnerIndex: SessionStore {
    /// The live sessions bound to `owner`, in no particular order.
    ///
    /// - Warning: O(sessions of the owner) in time and memory. Use
    ///   ``sessions(of:limit:cursor:)`` to bound the work per call.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: Every record saved with this owner that is neither deleted nor
    ///   expired; expired entries found on the way may be removed from the index.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    func sessions(of owner: String) async throws -> [StoredSession]

    /// Deletes every session bound to `owner`, except the one under `key`.
    ///
    /// - Warning: O(sessions of the owner). Use ``deleteSessions(of:except:limit:)``
    ///   to bound the work per call.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep (the caller's own), or `nil` to delete them all.
    /// - Returns: How many sessions were deleted.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    @discardableResult
    func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int

    /// One page of the live sessions bound to `owner`.
    ///
    /// Start with `cursor: nil` and pass each page's ``SessionOwnerPage/nextCursor``
    /// until it is `nil`. A session that is live and bound to `owner` during the
    /// whole walk is returned exactly once; one saved, moved or deleted meanwhile
    /// may or may not be. A page holds at most `limit` sessions and may hold
    /// fewer (even none) before the last: only a `nil` cursor ends the walk.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - limit: The most sessions to return, from 1; the built-in stores
    ///     treat a larger value than ``SessionOwnerPage/maximumLimit`` as that.
    ///   - cursor: `nil` for the first page, else the previous page's
    ///     ``SessionOwnerPage/nextCursor`` (opaque, valid for this store only).
    /// - Returns: The page and the cursor of the next one.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    func sessions(of owner: String, limit: Int, cursor: SessionOwnerCursor?) async throws -> SessionOwnerPage

    /// Deletes at most `limit` of the sessions bound to `owner`, except the one under `key`.
    ///
    /// Call it again while ``SessionOwnerDeletion/hasMore`` is `true`; the
    /// engine's ``SessionEngine/revokeSessions(of:except:)`` does.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: A session to keep, or `nil` to delete them all.
    ///   - limit: The most index entries to visit, from 1; the built-in stores
    ///     treat a larger value than ``SessionOwnerPage/maximumLimit`` as that.
    /// - Returns: How many live sessions were deleted, and whether any may remain.
    /// - Throws: ``SessionStoreError`` when the store itself fails.
    func deleteSessions(of owner: String, except key: SessionKey?, limit: Int) async throws -> SessionOwnerDeletion
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
