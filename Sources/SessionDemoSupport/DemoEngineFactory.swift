public import Logging
public import SessionKit

/// The session engine a demo runs on, with the store's background work.
public struct DemoSessionBackend: Sendable {
    /// The engine both demos hand to their framework's middleware.
    public var engine: SessionEngine
    /// The store's background work (expiry sweeps, connection pools): each runs
    /// for the life of the app and must end when its task is cancelled.
    public var backgroundTasks: [@Sendable () async throws -> Void]

    /// Creates a backend.
    ///
    /// - Parameters:
    ///   - engine: The session engine.
    ///   - backgroundTasks: The store's `run()` methods.
    public init(engine: SessionEngine, backgroundTasks: [@Sendable () async throws -> Void] = []) {
        self.engine = engine
        self.backgroundTasks = backgroundTasks
    }
}

/// Builds the store and engine that a ``DemoConfiguration`` names, the same way for both demos.
///
/// It knows no web framework: each demo bridges ``DemoSessionBackend/backgroundTasks``
/// to its own lifecycle (a Hummingbird service, a Vapor lifecycle handler).
public enum DemoEngineFactory {
    /// Builds the engine on the configured store.
    ///
    /// - Parameters:
    ///   - configuration: The demo's settings.
    ///   - logger: The logger for the store and the engine.
    /// - Returns: The engine and the store's background work.
    /// - Throws: ``SessionConfigurationError`` naming the variable when the store
    ///   cannot be set up (for example an unwritable `SESSION_FILE_PATH`).
    public static func make(configuration: DemoConfiguration, logger: Logger) async throws -> DemoSessionBackend {
        switch configuration.store {
        case .memory:
            let memory = try MemoryStore()
            let engine = try SessionEngine(store: memory, configuration: configuration.engine, logger: logger)
            return DemoSessionBackend(engine: engine, backgroundTasks: [memory.run])
        case .file:
            let file: FileStore
            do {
                file = try FileStore(directory: configuration.filePath, logger: logger)
            } catch {
                // The store names its own setting; the demo's user wrote this variable.
                throw SessionConfigurationError(setting: "SESSION_FILE_PATH", reason: error.reason)
            }
            let engine = try SessionEngine(store: file, configuration: configuration.engine, logger: logger)
            return DemoSessionBackend(engine: engine, backgroundTasks: [file.run])
        case .cookie:
            guard let keys = configuration.cookieKeys else {
                throw SessionConfigurationError(setting: "SESSION_COOKIE_KEYS", reason: "SESSION_STORE=cookie needs a key ring")
            }
            let engine = try SessionEngine(cookieStore: keys, configuration: configuration.engine, logger: logger)
            return DemoSessionBackend(engine: engine)
        }
    }
}
