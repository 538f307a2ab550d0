public import Foundation
public import Metrics
import Logging
import Synchronization

/// A bounded, in-process session store for a single app server.
///
/// Records live in a dictionary behind one `Mutex`; they vanish when the process
/// ends and are not shared between processes, so use ``FileStore`` or a database
/// store when more than one process serves the same sessions. The store enforces
/// expiry itself: ``load(_:)`` treats a record at or past its expiry as absent and
/// removes it, and ``run()`` (or ``sweepExpired()``) removes the rest.
///
/// The store is a ``SessionOwnerIndex``: next to the records it keeps, for each
/// owner, the set of keys saved with that ``SessionRecord/owner``. Saves move a
/// key between sets when the owner changes; deletes, evictions, sweeps and
/// expired loads take it out. Touches leave it alone.
///
/// The store is bounded by ``Configuration/maximumSessions``. When creating a
/// record would exceed it, the store first drops every expired record; if it is
/// still full, it evicts the live record *without an owner* that expires
/// soonest, and only when every record left has an owner, the owned record that
/// expires soonest, which logs that session's user out. So a flood of anonymous
/// sessions (one request each from clients that keep no cookie) evicts other
/// anonymous sessions, never a signed-in user (one bound to an owner with
/// ``RequestSession/regenerate(owner:)``); size the bound for your peak of
/// signed-in sessions plus anonymous ones. Updates of existing records never evict.
///
/// Owners are compared by their UTF-8 bytes, as every other store compares
/// them: "é" (U+00E9) and "e" followed by U+0301 are two owners.
///
/// Cost, for `n` records:
/// - ``load(_:)`` and ``delete(_:)``: O(1) amortised (one dictionary lookup).
/// - ``save(_:expecting:)`` and ``touch(_:expiresAt:)``: O(log n), a dictionary
///   update plus a push onto a min-heap of expiry times. Superseded heap entries
///   are skipped lazily and the heap is rebuilt (O(n)) once they outnumber live
///   records, which keeps the amortised cost O(log n) and the heap at most about
///   twice the number of records.
/// - Eviction and ``sweepExpired()``: O(log n) per removed record (anonymous
///   and owned records have a heap each, so skipping the owned ones costs nothing).
/// - ``sessions(of:limit:cursor:)``: O(log k + limit) for an owner with `k`
///   records (the owner's keys are kept in the order they joined, so a page is a
///   binary search and a short scan, at most `2 × limit` index entries, under
///   the lock); ``deleteSessions(of:except:limit:)``: O(limit). ``sessions(of:)``
///   and ``deleteSessions(of:except:)`` page through them: O(k) in all, with
///   the lock released between pages. A save that changes a record's owner adds
///   O(1) amortised (a removed key leaves a mark that a rebuild of the owner's
///   list, O(k), clears once marks outnumber live keys).
///
/// Each record costs at most about 310 bytes beyond its data, usually less: a
/// 72-byte dictionary slot (the key key into 32 bytes, the data's array
/// reference, expiry, version and owner) at 37% to 75% occupancy, the data
/// array's 32-byte header, and one or two 40-byte heap entries. A record with
/// an owner adds its key to the owner's index, at most about 170 bytes more
/// (a dictionary slot and one or two 40-byte list entries); each
/// owner's id is kept once (records of one owner share its storage) plus one
/// dictionary slot and set header per owner.
///
/// ```swift
/// let store = try MemoryStore(configuration: .init(maximumSessions: 50_000))
/// let sweeper = Task { try await store.run() }   // removes expired records every minute
/// // ... serve requests ...
/// sweeper.cancel()
/// ```
public final class MemoryStore: SessionOwnerIndex {
    /// Settings for a ``MemoryStore``.
    public struct Configuration: Sendable {
        /// The most records the store keeps; creating one more evicts the record
        /// without an owner that expires soonest (one with an owner only when
        /// none without is left). Must be at least 1.
        public var maximumSessions: Int
        /// How often ``MemoryStore/run()`` removes expired records. Must be positive.
        public var sweepInterval: Duration

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - maximumSessions: The most records the store keeps. Defaults to 100,000.
        ///   - sweepInterval: How often ``MemoryStore/run()`` removes expired records.
        ///     Defaults to 60 seconds.
        public init(maximumSessions: Int = 100_000, sweepInterval: Duration = .seconds(60)) {
            self.maximumSessions = maximumSessions
            self.sweepInterval = sweepInterval
        }
    }

    /// `memory`.
    public var name: String { "memory" }

    /// The store's settings.
    public let configuration: Configuration

    private let clock: any SessionClock
    private let state: Mutex<State>
    /// `sessionkit_memory_store_sessions`: the number of records held, set whenever it changes.
    private let sizeGauge: Gauge

    /// Creates an empty store.
    ///
    /// No background work starts here: call ``run()`` (for example from a
    /// service group) to sweep expired records periodically.
    ///
    /// - Parameters:
    ///   - configuration: The store's settings.
    ///   - clock: The source of the current time, used to decide expiry.
    ///   - metricsFactory: Where the `sessionkit_memory_store_sessions` gauge is made.
    ///     Defaults to `MetricsSystem.factory`.
    /// - Throws: ``SessionConfigurationError`` naming `MemoryStore.maximumSessions`
    ///   when it is below 1, or `MemoryStore.sweepInterval` when it is not positive.
    public init(
        configuration: Configuration = .init(),
        clock: any SessionClock = SystemSessionClock(),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(SessionConfigurationError) {
        guard configuration.maximumSessions >= 1 else {
            throw SessionConfigurationError(
                setting: "MemoryStore.maximumSessions",
                reason: "must be at least 1, got \(configuration.maximumSessions)"
            )
        }
        guard configuration.sweepInterval > .zero else {
            throw SessionConfigurationError(
                setting: "MemoryStore.sweepInterval",
                reason: "must be positive, got \(configuration.sweepInterval)"
            )
        }
        self.configuration = configuration
        self.clock = clock
        self.state = Mutex(State())
        self.sizeGauge = Gauge(label: "sessionkit_memory_store_sessions", factory: metricsFactory)
        sizeGauge.record(0)
    }

    /// Runs `body` under the lock and, when it changed the number of records,
    /// sets the size gauge; under the lock, so concurrent changes report in order.
    private func withStateRecordingSize<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        state.withLock { state in
            let before = state.entries.count
            let result = body(&state)
            if state.entries.count != before { sizeGauge.record(state.entries.count) }
            return result
        }
    }

    /// The number of records held, including expired ones not yet removed.
    public var count: Int {
        state.withLock { $0.entries.count }
    }

    /// Loads the record kept under `key`.
    ///
    /// - Parameter key: The hashed session id.
    /// - Returns: The record and its version, or `nil` when there is none or it
    ///   has expired; an expired record is removed.
    public func load(_ key: SessionKey) async throws -> StoredSession? {
        let now = clock.now().timeIntervalSinceReferenceDate
        return withStateRecordingSize { state -> StoredSession? in
            guard let entry = state.entries[key] else { return nil }
            guard entry.expiresAt > now else {
                state.remove(key)
                state.compactIfNeeded()
                return nil
            }
            return entry.stored(under: key)
        }
    }

    /// Creates or updates a record with compare-and-swap.
    ///
    /// A new record gets ``SessionVersion/initial``, or the version after that of
    /// an expired record it replaces; an update gets the next version. The
    /// record is listed under its ``SessionRecord/owner`` from now on, and no
    /// longer under the owner it had before.
    ///
    /// - Parameters:
    ///   - record: The record to write.
    ///   - version: `nil` to create (succeeds when no live record exists), or the
    ///     version of the live record to replace.
    /// - Returns: The new version, or ``SessionSaveResult/conflict`` when nothing was written.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/invalidData``
    ///   when the expiry is not a number.
    public func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        let expiresAt = try validExpiry(record.expiresAt)
        let now = clock.now().timeIntervalSinceReferenceDate
        let key = record.key
        let maximum = configuration.maximumSessions
        return withStateRecordingSize { state -> SessionSaveResult in
            if let existing = state.entries[key] {
                let isLive = existing.expiresAt > now
                if isLive {
                    guard let version, version.rawValue == existing.version else { return .conflict }
                } else {
                    // An expired record counts as absent: only a create may replace it.
                    guard version == nil else { return .conflict }
                }
                let newVersion = existing.version &+ 1
                var owner = existing.owner
                if !SessionPayload.isSameOwner(record.owner, existing.owner) {
                    if let previous = existing.owner { state.unindex(key, from: previous) }
                    owner = record.owner.map { state.index(key, under: $0) }
                }
                state.entries[key] = Entry(data: record.data, expiresAt: expiresAt, version: newVersion, owner: owner)
                if expiresAt != existing.expiresAt || (owner == nil) != (existing.owner == nil) {
                    state.push(key)
                }
                return .saved(SessionVersion(newVersion))
            }
            guard version == nil else { return .conflict }
            if state.entries.count >= maximum {
                state.makeRoom(below: maximum, now: now)
            }
            let newVersion = SessionVersion.initial
            let owner = record.owner.map { state.index(key, under: $0) }
            state.entries[key] = Entry(data: record.data, expiresAt: expiresAt, version: newVersion.rawValue, owner: owner)
            state.push(key)
            return .saved(newVersion)
        }
    }

    /// Moves a live record's expiry, keeping its data and version.
    ///
    /// A missing or expired record stays missing.
    ///
    /// - Parameters:
    ///   - key: The hashed session id.
    ///   - expiresAt: The new expiry.
    /// - Throws: ``SessionStoreError`` with code ``SessionStoreError/Code/invalidData``
    ///   when the expiry is not a number.
    public func touch(_ key: SessionKey, expiresAt: Date) async throws {
        let expiresAt = try validExpiry(expiresAt)
        let now = clock.now().timeIntervalSinceReferenceDate
        state.withLock { state in
            guard let existing = state.entries[key], existing.expiresAt > now else { return }
            guard existing.expiresAt != expiresAt else { return }
            state.entries[key]?.expiresAt = expiresAt
            state.push(key)
        }
    }

    /// Removes the record under `key`; a missing record is a no-op.
    ///
    /// - Parameter key: The hashed session id.
    public func delete(_ key: SessionKey) async throws {
        withStateRecordingSize { state in
            if state.remove(key) != nil {
                state.compactIfNeeded()
            }
        }
    }

    /// The live records saved with `owner`, in no particular order, read page by page.
    ///
    /// - Warning: O(k) for `k` records of the owner; each page holds the lock for
    ///   O(log k + 100). Prefer ``sessions(of:limit:cursor:)``.
    ///
    /// - Parameter owner: The owner id.
    /// - Returns: The owner's live records and their versions.
    public func sessions(of owner: String) async throws -> [StoredSession] {
        try await allSessions(of: owner)
    }

    /// One page of the live records saved with `owner`, in the order they joined the owner.
    ///
    /// Visits at most `2 × limit` entries of the owner's index under the lock
    /// (O(log k + limit) for `k` records of the owner); expired records found on
    /// the way are removed.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - limit: The most records to return, clamped to 1 to ``SessionOwnerPage/maximumLimit``.
    ///   - cursor: `nil`, or the previous page's cursor.
    /// - Returns: The page; its cursor is a position in the owner's index.
    public func sessions(of owner: String, limit: Int, cursor: SessionOwnerCursor?) async throws -> SessionOwnerPage {
        let now = clock.now().timeIntervalSinceReferenceDate
        let limit = SessionOwnerPage.clamped(limit)
        // A cursor this store did not make starts from the beginning rather than skipping sessions.
        let after = cursor.flatMap { UInt64($0.rawValue) }
        return withStateRecordingSize { state -> SessionOwnerPage in
            // No copy of the owner's keys outlives this line, so removing from them below copies nothing.
            guard let found = state.owners[OwnerID(value: owner)]?.page(after: after, limit: limit, maximumVisits: 2 * limit) else {
                return SessionOwnerPage(sessions: [], nextCursor: nil)
            }
            let (visited, next) = found
            var live: [StoredSession] = []
            var expired: [SessionKey] = []
            for key in visited {
                guard let entry = state.entries[key] else { continue }
                if entry.expiresAt > now {
                    live.append(entry.stored(under: key))
                } else {
                    expired.append(key)
                }
            }
            if !expired.isEmpty {
                for key in expired { state.remove(key) }
                state.compactIfNeeded()
            }
            return SessionOwnerPage(sessions: live, nextCursor: next.map { SessionOwnerCursor(String($0)) })
        }
    }

    /// Removes every record saved with `owner` except the one under `key`, page by page.
    ///
    /// - Warning: O(k) for `k` records of the owner; each step holds the lock for
    ///   O(100). Prefer ``deleteSessions(of:except:limit:)``.
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: The record to keep, or `nil` to remove them all.
    /// - Returns: How many live records were removed (expired ones are removed
    ///   too, but not counted).
    @discardableResult
    public func deleteSessions(of owner: String, except key: SessionKey?) async throws -> Int {
        try await deleteAllSessions(of: owner, except: key)
    }

    /// Removes at most `limit` records saved with `owner`, except the one under `key`; O(limit).
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - key: The record to keep, or `nil`.
    ///   - limit: The most records to remove, clamped to 1 to ``SessionOwnerPage/maximumLimit``.
    /// - Returns: How many live records were removed (expired ones are removed
    ///   too, but not counted), and whether the owner has others left.
    public func deleteSessions(of owner: String, except key: SessionKey?, limit: Int) async throws -> SessionOwnerDeletion {
        let now = clock.now().timeIntervalSinceReferenceDate
        let limit = SessionOwnerPage.clamped(limit)
        let kept = key
        return withStateRecordingSize { state -> SessionOwnerDeletion in
            guard let candidates = state.owners[OwnerID(value: owner)]?.someKeys(limit + 1) else {
                return SessionOwnerDeletion(deleted: 0, hasMore: false)
            }
            var deleted = 0
            for key in candidates.prefix(limit + (candidates.contains { $0 == kept } ? 1 : 0)) where key != kept {
                if let entry = state.remove(key), entry.expiresAt > now { deleted += 1 }
            }
            state.compactIfNeeded()
            let left = state.owners[OwnerID(value: owner)]
            let hasMore = (left?.count ?? 0) > (kept.map { left?.contains($0) == true ? 1 : 0 } ?? 0)
            return SessionOwnerDeletion(deleted: deleted, hasMore: hasMore)
        }
    }

    /// Removes every expired record now.
    ///
    /// - Returns: How many records were removed.
    @discardableResult
    public func sweepExpired() -> Int {
        let now = clock.now().timeIntervalSinceReferenceDate
        return withStateRecordingSize { state in
            let removed = state.removeExpired(now: now)
            state.compactIfNeeded()
            return removed
        }
    }

    /// Removes expired records every ``Configuration/sweepInterval`` until the
    /// calling task is cancelled.
    ///
    /// Returns normally on cancellation, so it can run as a service that ends
    /// with the server.
    public func run() async throws {
        await SessionStoreSweeper(interval: configuration.sweepInterval, storeName: name, logger: Logger(label: "sessionkit.memory-store")).run {
            sweepExpired()
        }
    }

    private func validExpiry(_ date: Date) throws -> Double {
        let seconds = date.timeIntervalSinceReferenceDate
        guard !seconds.isNaN else {
            throw SessionStoreError(
                code: .invalidData,
                storeName: name,
                message: "a record's expiry is not a number; pass a real date"
            )
        }
        return seconds
    }
}

/// What the store keeps per record; the expiry is seconds since the reference date.
private struct Entry {
    var data: [UInt8]
    var expiresAt: Double
    var version: UInt64
    /// The owner the record is indexed under; shares its storage with the key of ``State/owners``.
    var owner: String?

    func stored(under key: SessionKey) -> StoredSession {
        StoredSession(
            record: SessionRecord(
                key: key,
                data: data,
                expiresAt: Date(timeIntervalSinceReferenceDate: expiresAt),
                owner: owner
            ),
            version: SessionVersion(version)
        )
    }
}

/// A record's expiry in one of the min-heaps. It is current while the record
/// under `key` still has this expiry and still belongs to the heap's kind
/// (with or without an owner); otherwise it is stale and skipped.
private struct HeapEntry {
    var expiresAt: Double
    var key: SessionKey
}

/// An owner id compared and hashed by its UTF-8 bytes, as every other store
/// compares owners: Swift's `String` equality would make canonically
/// equivalent ids ("é" and "e" + U+0301) one owner.
private struct OwnerID: Hashable {
    var value: String

    static func == (lhs: OwnerID, rhs: OwnerID) -> Bool {
        lhs.value.utf8.elementsEqual(rhs.value.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var value = value
        value.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// A binary min-heap of expiry times.
private struct ExpiryHeap {
    var entries: [HeapEntry] = []

    var count: Int { entries.count }
    var first: HeapEntry? { entries.first }

    mutating func push(_ entry: HeapEntry) {
        entries.append(entry)
        siftUp(entries.count - 1)
    }

    mutating func popMin() -> HeapEntry? {
        guard !entries.isEmpty else { return nil }
        entries.swapAt(0, entries.count - 1)
        let minimum = entries.removeLast()
        if !entries.isEmpty { siftDown(0) }
        return minimum
    }

    /// Replaces the contents with `entries`, in O(n).
    mutating func rebuild(_ entries: [HeapEntry]) {
        self.entries = entries
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(index)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].expiresAt < entries[parent].expiresAt else { return }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        let count = entries.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            let right = left + 1
            var smallest = left
            if right < count && entries[right].expiresAt < entries[left].expiresAt { smallest = right }
            guard entries[smallest].expiresAt < entries[parent].expiresAt else { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }
}

private struct State {
    var entries: [SessionKey: Entry] = [:]
    /// The expiries of records without an owner, plus stale entries left behind
    /// by updates, touches and removals; evicted first.
    var anonymous = ExpiryHeap()
    /// The expiries of records with an owner, likewise.
    var owned = ExpiryHeap()
    /// The keys of the records saved with each owner. A key is in exactly the
    /// index of its entry's ``Entry/owner``; owners without records have none.
    var owners: [OwnerID: OwnerKeys] = [:]
    /// The position the next key to join an owner's index gets; never reused.
    var nextOwnerPosition: UInt64 = 0

    /// Removes a record and takes it out of its owner's set.
    ///
    /// - Returns: The removed entry, or `nil` when there was none.
    @discardableResult
    mutating func remove(_ key: SessionKey) -> Entry? {
        guard let entry = entries.removeValue(forKey: key) else { return nil }
        if let owner = entry.owner { unindex(key, from: owner) }
        return entry
    }

    /// Adds `key` to the set of `owner`.
    ///
    /// - Returns: The owner id to keep in the entry: the set's own key when the
    ///   owner already has one, so the owner's records share one string.
    mutating func index(_ key: SessionKey, under owner: String) -> String {
        nextOwnerPosition += 1
        guard let index = owners.index(forKey: OwnerID(value: owner)) else {
            var keys = OwnerKeys()
            keys.insert(key, at: nextOwnerPosition)
            owners[OwnerID(value: owner)] = keys
            return owner
        }
        owners.values[index].insert(key, at: nextOwnerPosition)
        return owners.keys[index].value
    }

    /// Takes `key` out of the set of `owner`, dropping the set once it is empty.
    mutating func unindex(_ key: SessionKey, from owner: String) {
        guard let index = owners.index(forKey: OwnerID(value: owner)) else { return }
        owners.values[index].remove(key)
        if owners.values[index].isEmpty { owners.remove(at: index) }
    }

    func isCurrent(_ heapEntry: HeapEntry, isOwned: Bool) -> Bool {
        guard let entry = entries[heapEntry.key] else { return false }
        return entry.expiresAt == heapEntry.expiresAt && (entry.owner != nil) == isOwned
    }

    /// Records the expiry of the record under `key`, in the heap of its kind.
    mutating func push(_ key: SessionKey) {
        guard let entry = entries[key] else { return }
        let heapEntry = HeapEntry(expiresAt: entry.expiresAt, key: key)
        if entry.owner == nil { anonymous.push(heapEntry) } else { owned.push(heapEntry) }
        compactIfNeeded()
    }

    /// Drops every record whose expiry is at or before `now`.
    mutating func removeExpired(now: Double) -> Int {
        removeExpired(now: now, isOwned: false) + removeExpired(now: now, isOwned: true)
    }

    private mutating func removeExpired(now: Double, isOwned: Bool) -> Int {
        var removed = 0
        while let top = isOwned ? owned.first : anonymous.first, top.expiresAt <= now {
            if isOwned { _ = owned.popMin() } else { _ = anonymous.popMin() }
            if isCurrent(top, isOwned: isOwned) {
                remove(top.key)
                removed += 1
            }
        }
        return removed
    }

    /// Frees at least one slot below `maximum`: expired records go first, then
    /// the live ones without an owner that expire soonest, and only when none
    /// is left the live ones with an owner that expire soonest.
    mutating func makeRoom(below maximum: Int, now: Double) {
        _ = removeExpired(now: now)
        while entries.count >= maximum, let top = anonymous.popMin() {
            if isCurrent(top, isOwned: false) { remove(top.key) }
        }
        while entries.count >= maximum, let top = owned.popMin() {
            if isCurrent(top, isOwned: true) { remove(top.key) }
        }
        compactIfNeeded()
    }

    /// Rebuilds the heaps from the records once stale entries outnumber live ones.
    ///
    /// Every operation adds at most two to `heaps - 2 * entries.count`, so at
    /// least about n/2 operations separate two O(n) rebuilds.
    mutating func compactIfNeeded() {
        guard anonymous.count + owned.count > 2 * entries.count + 16 else { return }
        var anonymousEntries: [HeapEntry] = []
        var ownedEntries: [HeapEntry] = []
        for (key, entry) in entries {
            let heapEntry = HeapEntry(expiresAt: entry.expiresAt, key: key)
            if entry.owner == nil { anonymousEntries.append(heapEntry) } else { ownedEntries.append(heapEntry) }
        }
        anonymous.rebuild(anonymousEntries)
        owned.rebuild(ownedEntries)
    }
}

/// The keys of one owner's records, in the order they joined, so that a page
/// starts with a binary search instead of a walk over every key.
///
/// Each key has a position from a store-wide counter, so positions only grow
/// and ``list`` stays sorted by appending. A removed key leaves its entry in
/// ``list`` (``positions`` no longer names it); the list is rebuilt without such
/// entries once they outnumber the live keys, O(k) for every k removals.
struct OwnerKeys {
    private var list: [(position: UInt64, key: SessionKey)] = []
    private var positions: [SessionKey: UInt64] = [:]

    var count: Int { positions.count }
    var isEmpty: Bool { positions.isEmpty }

    func contains(_ key: SessionKey) -> Bool { positions[key] != nil }

    mutating func insert(_ key: SessionKey, at position: UInt64) {
        guard positions[key] == nil else { return }
        positions[key] = position
        list.append((position, key))
    }

    mutating func remove(_ key: SessionKey) {
        guard positions.removeValue(forKey: key) != nil else { return }
        if list.count > 2 * positions.count + 16 {
            let live = positions
            list.removeAll { live[$0.key] != $0.position }
        }
    }

    /// The live keys among at most `maximumVisits` list entries after `position`,
    /// at most `limit` of them, and the position to continue after (`nil` at the end).
    func page(after position: UInt64?, limit: Int, maximumVisits: Int) -> (keys: [SessionKey], next: UInt64?) {
        // The first entry after `position`, by binary search over the sorted positions.
        var low = 0
        var high = list.count
        if let position {
            while low < high {
                let middle = (low + high) / 2
                if list[middle].position <= position { low = middle + 1 } else { high = middle }
            }
        }
        var keys: [SessionKey] = []
        var index = low
        while index < list.count, keys.count < limit, index - low < maximumVisits {
            let entry = list[index]
            if positions[entry.key] == entry.position { keys.append(entry.key) }
            index += 1
        }
        return (keys, index < list.count ? list[index - 1].position : nil)
    }

    /// Up to `count` of the keys, in no particular order; O(count).
    func someKeys(_ count: Int) -> [SessionKey] {
        Array(positions.keys.prefix(count))
    }
}
