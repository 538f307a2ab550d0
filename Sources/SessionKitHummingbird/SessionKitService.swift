#if Hummingbird
public import Logging
public import SessionKit
public import ServiceLifecycle

/// SessionKit for a Hummingbird app in one value: the engine on the store a
/// driver makes, and the store's background work as one service.
///
/// ```swift
/// let sessions = try await SessionKitService(.sqlite(path: "sessions.sqlite"))
/// let router = Router(context: BasicSessionKitRequestContext.self)
/// router.add(middleware: sessions.middleware())
/// let app = Application(router: router, services: [sessions])
/// ```
///
/// Listing it among the app's services runs the store's sweeps and connection
/// pools until graceful shutdown, which ends them (and closes the store's
/// connections). A store with no background work (the cookie store) needs no
/// service: ``hasBackgroundWork`` is `false` and the app may leave it out of
/// its services; listed anyway, it waits for shutdown and does nothing.
public struct SessionKitService: Service {
    /// The engine that loads and commits sessions.
    public let engine: SessionEngine
    private let backend: SessionStoreDriver.Backend

    /// Makes the store and the engine on it.
    ///
    /// - Parameters:
    ///   - driver: The store, for example `.memory`, `.file(directory:)`,
    ///     `.sqlite(path:)`, `.postgres(url:)`, `.redis(url:)`, `.cookie(keys:)`,
    ///     or `SessionStoreDriver(url:)` of `SessionKitStores`.
    ///   - configuration: The engine's cookie, timeout and CSRF settings.
    ///   - logger: Where the store and the engine log.
    /// - Throws: ``SessionKit/SessionConfigurationError`` naming the setting when
    ///   the store or the engine cannot be set up.
    public init(
        _ driver: SessionStoreDriver,
        configuration: SessionEngine.Configuration = .init(),
        logger: Logger = Logger(label: "sessionkit")
    ) async throws {
        let backend = try await driver.makeBackend(logger: logger)
        self.engine = try backend.makeEngine(configuration: configuration, logger: logger)
        self.backend = backend
    }

    /// Whether the store has background work, so that the service must be
    /// listed among the app's services.
    public var hasBackgroundWork: Bool { backend.hasBackgroundWork }

    /// A ``SessionKitMiddleware`` on ``engine``, for `router.add(middleware:)`.
    ///
    /// - Parameter context: The router's request context.
    /// - Returns: The middleware.
    public func middleware<Context: SessionKitRequestContext>(context: Context.Type = Context.self) -> SessionKitMiddleware<Context> {
        SessionKitMiddleware(engine: engine)
    }

    /// Runs the store's background work until graceful shutdown.
    public func run() async throws {
        do {
            if backend.hasBackgroundWork {
                let backend = self.backend
                try await cancelWhenGracefulShutdown { try await backend.run() }
            } else {
                // A service that returns early would end the app's service group.
                try await gracefulShutdown()
            }
        } catch is CancellationError {
            // Cancellation is how graceful shutdown ends the work; it is not a failure.
        }
    }
}
#endif  // Hummingbird
