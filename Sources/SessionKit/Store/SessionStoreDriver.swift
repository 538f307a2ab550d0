public import Logging
public import Metrics

/// How to make a session backend (a server-side ``SessionStore`` or the
/// ``CookieStore``) and its background work, for the adapters' one-line set-up.
///
/// A driver is a recipe: nothing is opened and no task starts until an adapter
/// (or the app) calls ``makeBackend(logger:)``. The ``Backend`` it makes holds
/// the store and the work that must run beside it for the life of the app
/// (expiry sweeps, a connection pool); cancelling that work is the store's
/// shutdown (it closes its connections and files).
///
/// ```swift
/// try await app.sessionKit.use(.file(directory: "sessions"))          // Vapor
/// let sessions = try await SessionKitService(.memory)                  // Hummingbird
/// ```
///
/// The core offers ``memory``, ``file(directory:configuration:)`` and
/// ``cookie(keys:ownerEpoch:)``; `SessionKitSQLite`, `SessionKitPostgres` and
/// `SessionKitRedis` add `.sqlite(path:)`, `.postgres(url:)` and `.redis(url:)`,
/// and `SessionKitStores` makes a driver from one URL. A store of your own gets
/// one with ``init(name:makeBackend:)``.
public struct SessionStoreDriver: Sendable {
    /// The store's name, as in logs (`memory`, `file`, `redis`, …).
    public let name: String
    private let factory: @Sendable (Logger) async throws -> Backend

    /// Creates a driver for any store.
    ///
    /// - Parameters:
    ///   - name: The store's name, for logs and errors.
    ///   - makeBackend: Makes the store and describes its background work; it is
    ///     called once, when the app is configured, with the app's logger. It
    ///     throws ``SessionConfigurationError`` naming the setting that is wrong.
    public init(name: String, makeBackend: @escaping @Sendable (_ logger: Logger) async throws -> Backend) {
        self.name = name
        self.factory = makeBackend
    }

    /// Makes the store. Nothing runs yet: run ``Backend/run()`` for the life of the app.
    ///
    /// - Parameter logger: Where the store logs (and, through
    ///   ``Backend/makeEngine(configuration:clock:logger:metricsFactory:)``, the engine).
    /// - Returns: The store and its background work.
    /// - Throws: ``SessionConfigurationError`` naming the setting when the store
    ///   cannot be set up; some stores (SQLite) also throw ``SessionStoreError``
    ///   when their database cannot be opened.
    public func makeBackend(logger: Logger) async throws -> Backend {
        try await factory(logger)
    }
}

extension SessionStoreDriver {
    /// A made store and the work that runs beside it.
    public struct Backend: Sendable {
        private enum Kind: Sendable {
            case server(any SessionStore)
            case cookie(CookieStore)
        }

        private let kind: Kind
        private let backgroundWork: (@Sendable () async throws -> Void)?

        /// A server-side store.
        ///
        /// - Parameters:
        ///   - store: The store.
        ///   - run: Its background work (usually the store's `run()`): it must run
        ///     until its task is cancelled and then release what the store holds;
        ///     `nil` when the store needs none.
        /// - Returns: The backend.
        public static func store(_ store: any SessionStore, run: (@Sendable () async throws -> Void)?) -> Backend {
            Backend(kind: .server(store), backgroundWork: run)
        }

        /// The sealed-cookie backend; it has no background work.
        ///
        /// - Parameter cookieStore: The key ring.
        /// - Returns: The backend.
        public static func cookie(_ cookieStore: CookieStore) -> Backend {
            Backend(kind: .cookie(cookieStore), backgroundWork: nil)
        }

        /// The server-side store, or `nil` for the cookie store.
        public var store: (any SessionStore)? {
            if case .server(let store) = kind { return store }
            return nil
        }

        /// The cookie store's key ring, or `nil` for a server-side store.
        public var cookieStore: CookieStore? {
            if case .cookie(let cookieStore) = kind { return cookieStore }
            return nil
        }

        /// Whether ``run()`` has anything to do; without it the app needs no
        /// service or lifecycle handler for the store.
        public var hasBackgroundWork: Bool { backgroundWork != nil }

        /// Runs the store's background work until the calling task is cancelled,
        /// then lets the store release its connections; returns at once when
        /// there is none.
        ///
        /// - Throws: What the work throws; `CancellationError` when cancelled, for some stores.
        public func run() async throws {
            try await backgroundWork?()
        }

        /// Makes the engine on this store.
        ///
        /// - Parameters:
        ///   - configuration: Cookie, timeouts and CSRF settings.
        ///   - clock: The clock for expiry.
        ///   - logger: Where the engine logs.
        ///   - metricsFactory: Where the engine's counters and timers are made.
        /// - Returns: The engine.
        /// - Throws: ``SessionConfigurationError`` naming the invalid setting.
        public func makeEngine(
            configuration: SessionEngine.Configuration = .init(),
            clock: any SessionClock = SystemSessionClock(),
            logger: Logger = Logger(label: "sessionkit"),
            metricsFactory: any MetricsFactory = MetricsSystem.factory
        ) throws(SessionConfigurationError) -> SessionEngine {
            switch kind {
            case .server(let store):
                return try SessionEngine(store: store, configuration: configuration, clock: clock, logger: logger, metricsFactory: metricsFactory)
            case .cookie(let cookieStore):
                return try SessionEngine(cookieStore: cookieStore, configuration: configuration, clock: clock, logger: logger, metricsFactory: metricsFactory)
            }
        }
    }
}

extension SessionStoreDriver {
    /// A ``MemoryStore`` with its default settings, swept by its background work.
    ///
    /// For one process only: sessions are lost when it stops.
    public static var memory: SessionStoreDriver { memory(configuration: .init()) }

    /// A ``MemoryStore``, swept by its background work.
    ///
    /// - Parameter configuration: The store's limits and sweep interval.
    /// - Returns: The driver; making it throws ``SessionConfigurationError``
    ///   naming `MemoryStore.maximumSessions` or `MemoryStore.sweepInterval`.
    public static func memory(configuration: MemoryStore.Configuration) -> SessionStoreDriver {
        SessionStoreDriver(name: "memory") { _ in
            let store = try MemoryStore(configuration: configuration)
            return .store(store, run: store.run)
        }
    }

    /// A ``FileStore`` in `directory` (created when missing), swept by its background work.
    ///
    /// - Parameters:
    ///   - directory: The directory, given to the store alone.
    ///   - configuration: The sweep interval.
    /// - Returns: The driver; making it throws ``SessionConfigurationError``
    ///   naming `FileStore.directory` when the directory cannot be created or written.
    public static func file(directory: String, configuration: FileStore.Configuration = .init()) -> SessionStoreDriver {
        SessionStoreDriver(name: "file") { logger in
            let store = try FileStore(directory: directory, configuration: configuration, logger: logger)
            return .store(store, run: store.run)
        }
    }

    /// The ``CookieStore``: each session sealed in its cookie; no background work.
    ///
    /// - Parameters:
    ///   - keys: At least one key, ids unique; the first one encrypts.
    ///   - ownerEpoch: Reads an owner's epoch, to revoke all of an owner's cookies at once.
    /// - Returns: The driver; making it throws ``SessionConfigurationError``
    ///   (`SESSION_COOKIE_KEYS`) for an empty ring or repeated ids.
    public static func cookie(keys: [CookieStore.Key], ownerEpoch: CookieStore.OwnerEpoch? = nil) -> SessionStoreDriver {
        SessionStoreDriver(name: "cookie") { _ in
            .cookie(try CookieStore(keys: keys, ownerEpoch: ownerEpoch))
        }
    }

    /// The ``CookieStore`` from a ready key ring; no background work.
    ///
    /// - Parameter cookieStore: The key ring.
    /// - Returns: The driver.
    public static func cookie(_ cookieStore: CookieStore) -> SessionStoreDriver {
        SessionStoreDriver(name: "cookie") { _ in .cookie(cookieStore) }
    }
}
