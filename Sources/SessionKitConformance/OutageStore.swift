public import Foundation
public import SessionKit
import Synchronization

/// A store that fails on demand, for testing that an adapter or an app turns a
/// store outage into `503` and never into an empty session.
///
/// It keeps records in a ``SessionKit/MemoryStore`` while ``mode`` is
/// ``Mode/working``. Its errors are deliberately not `SessionStoreError`s, so a
/// test also checks that the engine wraps foreign errors with the store's name.
/// It is test support: it stands in for a failing backend around the code under
/// test, it is not a store to deploy.
///
/// ```swift
/// let store = try OutageStore()
/// let engine = try SessionEngine(store: store)
/// store.mode = .failingEverything   // the next request gets 503 "session store 'failing' unavailable"
/// ```
public final class OutageStore: SessionStore {
    /// Which calls fail.
    public enum Mode: Sendable, Hashable {
        /// Every call reaches the memory store.
        case working
        /// `save` throws; the other calls work.
        case failingSaves
        /// Every call throws.
        case failingEverything
    }

    /// The error every failing call throws.
    public struct Outage: Error, CustomStringConvertible {
        /// `"simulated outage"`.
        public var description: String { "simulated outage" }
    }

    /// The store's name in errors: `failing` unless given.
    public let name: String
    /// Where records are kept while the store works.
    public let records: MemoryStore
    private let current: Mutex<Mode>

    /// Creates a working store.
    ///
    /// - Parameters:
    ///   - name: The name errors and `503` bodies carry.
    ///   - clock: The clock of the memory store behind it.
    public init(name: String = "failing", clock: any SessionClock = SystemSessionClock()) throws {
        self.name = name
        self.records = try MemoryStore(clock: clock)
        self.current = Mutex(.working)
    }

    /// Which calls fail now; change it at any time.
    public var mode: Mode {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    /// Loads from the memory store unless every call fails.
    public func load(_ key: SessionKey) async throws -> StoredSession? {
        guard mode != .failingEverything else { throw Outage() }
        return try await records.load(key)
    }

    /// Saves to the memory store only while working.
    public func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        guard mode == .working else { throw Outage() }
        return try await records.save(record, expecting: version)
    }

    /// Touches in the memory store unless every call fails.
    public func touch(_ key: SessionKey, expiresAt: Date) async throws {
        guard mode != .failingEverything else { throw Outage() }
        try await records.touch(key, expiresAt: expiresAt)
    }

    /// Deletes from the memory store unless every call fails.
    public func delete(_ key: SessionKey) async throws {
        guard mode != .failingEverything else { throw Outage() }
        try await records.delete(key)
    }
}
