public import Logging
import PostgresNIO
public import SessionKit
import SessionKitPostgres
import SessionKitRedis
import SessionKitSQLite
import SessionKitStores

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
/// It knows no web framework: ``driver(configuration:)`` is what both demos hand
/// to their framework's one-line set-up (`app.sessionKit.use(_:configuration:)`,
/// `SessionKitService`), which runs the store's background work.
public enum DemoEngineFactory {
    /// The store the configuration names, as a driver whose errors name the demo's variables.
    ///
    /// No connection to a PostgreSQL or Redis server is opened when the driver
    /// makes its store, so the demo starts while its server is down and answers
    /// `503` until it is up. The PostgreSQL client's pool runs in the store's
    /// background work, which also creates the sessions table as soon as the
    /// server answers.
    ///
    /// - Parameter configuration: The demo's settings.
    /// - Returns: The driver. Making its store throws ``SessionConfigurationError``
    ///   naming the variable when the store cannot be set up (for example an
    ///   unwritable `SESSION_FILE_PATH` or `SESSION_SQLITE_PATH`), and
    ///   `SessionStoreError` when the SQLite database stays locked by another process.
    /// - Throws: ``SessionConfigurationError`` naming the variable (for example
    ///   a bad `SESSION_STORE_URL`, `REDIS_URL` or `DATABASE_URL`, or a missing one).
    public static func driver(configuration: DemoConfiguration) throws(SessionConfigurationError) -> SessionStoreDriver {
        if let url = configuration.storeURL {
            return try SessionStoreDriver(url: url, setting: "SESSION_STORE_URL")
        }
        switch configuration.store {
        case .memory:
            return .memory
        case .file:
            // The store names its own setting; the demo's user wrote this variable.
            return renaming(.file(directory: configuration.filePath), from: "FileStore.directory", to: "SESSION_FILE_PATH")
        case .sqlite:
            var sqliteConfiguration = SQLiteStore.Configuration()
            if let timeout = configuration.storeTimeout {
                sqliteConfiguration.busyTimeout = timeout
            }
            let sqlite = SessionStoreDriver.sqlite(path: configuration.sqlitePath, configuration: sqliteConfiguration)
            return renaming(sqlite, from: "SQLiteStore.path", to: "SESSION_SQLITE_PATH")
        case .postgres:
            guard let url = configuration.databaseURL else {
                throw SessionConfigurationError(setting: "DATABASE_URL", reason: "SESSION_STORE=postgres needs the server's URL")
            }
            var clientConfiguration = try PostgresStore.clientConfiguration(url: url)
            var storeConfiguration = PostgresStore.Configuration()
            if let timeout = configuration.storeTimeout {
                storeConfiguration.operationTimeout = timeout
                clientConfiguration.options.connectTimeout = timeout
            }
            return .postgres(configuration: clientConfiguration, storeConfiguration: storeConfiguration)
        case .redis:
            guard let url = configuration.redisURL else {
                throw SessionConfigurationError(setting: "REDIS_URL", reason: "SESSION_STORE=redis needs the server's URL")
            }
            var redisConfiguration = try RedisStore.Configuration(url: url)
            if let caFile = configuration.redisCAFile { redisConfiguration.tls?.trustRoots = .caFile(caFile) }
            if let timeout = configuration.storeTimeout {
                redisConfiguration.commandTimeout = timeout
                redisConfiguration.connectTimeout = timeout
            }
            return .redis(configuration: redisConfiguration)
        case .cookie:
            guard let keys = configuration.cookieKeys else {
                throw SessionConfigurationError(setting: "SESSION_COOKIE_KEYS", reason: "SESSION_STORE=cookie needs a key ring")
            }
            return .cookie(keys)
        }
    }

    /// Builds the engine on the configured store, for tests and tools that use no framework.
    ///
    /// - Parameters:
    ///   - configuration: The demo's settings.
    ///   - logger: The logger for the store and the engine.
    /// - Returns: The engine and the store's background work.
    /// - Throws: What ``driver(configuration:)`` and making its store throw.
    public static func make(configuration: DemoConfiguration, logger: Logger) async throws -> DemoSessionBackend {
        let backend = try await driver(configuration: configuration).makeBackend(logger: logger)
        let engine = try backend.makeEngine(configuration: configuration.engine, logger: logger)
        return DemoSessionBackend(engine: engine, backgroundTasks: backend.hasBackgroundWork ? [backend.run] : [])
    }

    /// `driver`, with a configuration error about `setting` named `variable` instead.
    private static func renaming(_ driver: SessionStoreDriver, from setting: String, to variable: String) -> SessionStoreDriver {
        SessionStoreDriver(name: driver.name) { logger in
            do {
                return try await driver.makeBackend(logger: logger)
            } catch let error as SessionConfigurationError where error.setting == setting {
                throw SessionConfigurationError(setting: variable, reason: error.reason)
            }
        }
    }
}
