import Foundation
public import Logging
import PostgresNIO
public import SessionKit
import SessionKitPostgres
import SessionKitRedis
import SessionKitSQLite

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
    /// No connection to a PostgreSQL or Redis server is opened here, so the demo
    /// starts while its server is down and answers `503` until it is up. The
    /// PostgreSQL client's pool runs in ``DemoSessionBackend/backgroundTasks``,
    /// which also creates the sessions table as soon as the server answers.
    ///
    /// - Throws: ``SessionConfigurationError`` naming the variable when the store
    ///   cannot be set up (for example an unwritable `SESSION_FILE_PATH` or
    ///   `SESSION_SQLITE_PATH`, or a missing `DATABASE_URL`); `SessionStoreError`
    ///   when the SQLite database stays locked by another process.
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
        case .sqlite:
            let sqlite = try await makeSQLiteStore(configuration: configuration, logger: logger)
            let engine = try SessionEngine(store: sqlite, configuration: configuration.engine, logger: logger)
            return DemoSessionBackend(engine: engine, backgroundTasks: [sqlite.run])
        case .postgres:
            return try makePostgresBackend(configuration: configuration, logger: logger)
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
            let redis = try RedisStore(configuration: redisConfiguration, logger: logger)
            let engine = try SessionEngine(store: redis, configuration: configuration.engine, logger: logger)
            // No background work; `run()` closes the connections when the app stops.
            return DemoSessionBackend(engine: engine, backgroundTasks: [redis.run])
        case .cookie:
            guard let keys = configuration.cookieKeys else {
                throw SessionConfigurationError(setting: "SESSION_COOKIE_KEYS", reason: "SESSION_STORE=cookie needs a key ring")
            }
            let engine = try SessionEngine(cookieStore: keys, configuration: configuration.engine, logger: logger)
            return DemoSessionBackend(engine: engine)
        }
    }

    /// Opens the SQLite database, creating its folder first.
    private static func makeSQLiteStore(configuration: DemoConfiguration, logger: Logger) async throws -> SQLiteStore {
        let path = configuration.sqlitePath
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw SessionConfigurationError(
                setting: "SESSION_SQLITE_PATH",
                reason: "could not create the folder '\(folder)': \(error.localizedDescription)"
            )
        }
        var sqliteConfiguration = SQLiteStore.Configuration()
        if let timeout = configuration.storeTimeout {
            sqliteConfiguration.busyTimeout = timeout
        }
        do {
            return try await SQLiteStore(path: path, configuration: sqliteConfiguration, logger: logger)
        } catch let error as SessionConfigurationError where error.setting == "SQLiteStore.path" {
            // The store names its own setting; the demo's user wrote this variable.
            throw SessionConfigurationError(setting: "SESSION_SQLITE_PATH", reason: error.reason)
        }
    }

    /// The PostgreSQL store on a client of its own, whose pool runs in the background.
    private static func makePostgresBackend(configuration: DemoConfiguration, logger: Logger) throws -> DemoSessionBackend {
        guard let url = configuration.databaseURL else {
            throw SessionConfigurationError(setting: "DATABASE_URL", reason: "SESSION_STORE=postgres needs the server's URL")
        }
        var clientConfiguration = try PostgresStore.clientConfiguration(url: url)
        var storeConfiguration = PostgresStore.Configuration()
        if let timeout = configuration.storeTimeout {
            storeConfiguration.operationTimeout = timeout
            clientConfiguration.options.connectTimeout = timeout
        }
        let client = PostgresClient(configuration: clientConfiguration, backgroundLogger: logger)
        let postgres = try PostgresStore(client: client, configuration: storeConfiguration, logger: logger)
        let engine = try SessionEngine(store: postgres, configuration: configuration.engine, logger: logger)
        // The pool works only while `client.run()` runs, so the table is created
        // beside it rather than here. A server that is down at start-up is not
        // fatal: requests get 503 until it answers, and the first one creates the table.
        let runClient: @Sendable () async throws -> Void = {
            await withDiscardingTaskGroup { group in
                group.addTask { await client.run() }
                do {
                    try await postgres.prepare()
                } catch {
                    if !Task.isCancelled {
                        logger.warning(
                            "could not prepare the sessions table; requests get 503 until PostgreSQL answers",
                            metadata: ["sessionkit.error": "\(error)"]
                        )
                    }
                }
            }
        }
        return DemoSessionBackend(engine: engine, backgroundTasks: [runClient, postgres.run])
    }
}
