public import Hummingbird
public import Logging
public import SessionKit
public import SessionKitHummingbird
import ServiceLifecycle

/// Builds the demo: a Hummingbird app with HTML pages and a JSON API on SessionKit.
public enum DemoApplication {
    /// Builds the application described by `configuration`, with its store's sweep as a service.
    ///
    /// - Parameters:
    ///   - configuration: The demo's settings.
    ///   - logger: The app's logger.
    /// - Returns: The application, ready to `runService()`.
    /// - Throws: ``SessionConfigurationError`` when the store cannot be set up (for example an unwritable `SESSION_FILE_PATH`).
    public static func make(configuration: DemoConfiguration, logger: Logger) throws -> some ApplicationProtocol {
        let engine: SessionEngine
        var services: [any Service] = []
        switch configuration.store {
        case .memory:
            let memory = try MemoryStore()
            engine = try SessionEngine(store: memory, configuration: configuration.engine, logger: logger)
            services.append(SessionStoreService(run: memory.run))
        case .file:
            let file: FileStore
            do {
                file = try FileStore(directory: configuration.filePath, logger: logger)
            } catch let error as SessionConfigurationError {
                throw SessionConfigurationError(setting: "SESSION_FILE_PATH", reason: error.reason)
            }
            engine = try SessionEngine(store: file, configuration: configuration.engine, logger: logger)
            services.append(SessionStoreService(run: file.run))
        case .cookie:
            guard let keys = configuration.cookieKeys else {
                throw SessionConfigurationError(setting: "SESSION_COOKIE_KEYS", reason: "SESSION_STORE=cookie needs a key ring")
            }
            engine = try SessionEngine(cookieStore: keys, configuration: configuration.engine, logger: logger)
        }
        return Application(
            router: router(engine: engine),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "session-demo"),
            services: services,
            logger: logger
        )
    }

    /// The demo's routes on `engine`, for tests and for ``make(configuration:logger:)``.
    ///
    /// - Parameter engine: The session engine.
    public static func router(engine: SessionEngine) -> Router<BasicSessionKitRequestContext> {
        let router = Router(context: BasicSessionKitRequestContext.self)
        router.add(middleware: SessionKitMiddleware(engine: engine))
        addJSONRoutes(to: router)
        addHTMLRoutes(to: router)
        return router
    }
}
