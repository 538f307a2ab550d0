#if Postgres
import Logging
public import PostgresNIO
public import SessionKit

extension SessionStoreDriver {
    /// A ``PostgresStore`` on a client of its own, for the server a
    /// `DATABASE_URL`-style URL names.
    ///
    /// ```swift
    /// try await app.sessionKit.use(.postgres(url: Environment.get("DATABASE_URL")!))
    /// ```
    ///
    /// - Parameters:
    ///   - url: The URL, in the form ``PostgresStore/clientConfiguration(url:)`` reads.
    ///   - storeConfiguration: The schema, table, sweep interval and timeouts.
    /// - Returns: The driver.
    /// - Throws: ``SessionKit/SessionConfigurationError`` naming `DATABASE_URL`
    ///   when the URL cannot be used.
    public static func postgres(
        url: String,
        storeConfiguration: PostgresStore.Configuration = .init()
    ) throws(SessionConfigurationError) -> SessionStoreDriver {
        .postgres(configuration: try PostgresStore.clientConfiguration(url: url), storeConfiguration: storeConfiguration)
    }

    /// A ``PostgresStore`` on a client of its own with these settings.
    ///
    /// No connection opens here, so the app starts while PostgreSQL is down and
    /// answers `503` until it is up. The background work runs the client's pool,
    /// creates the sessions table (when ``PostgresStore/Configuration/createTableIfMissing``)
    /// as soon as the server answers, and sweeps expired rows; cancelling it
    /// closes the pool.
    ///
    /// - Parameters:
    ///   - configuration: The client's settings (server, credentials, TLS, pool).
    ///   - storeConfiguration: The schema, table, sweep interval and timeouts.
    /// - Returns: The driver; making it throws ``SessionKit/SessionConfigurationError``
    ///   naming the store setting that is wrong.
    public static func postgres(
        configuration: PostgresClient.Configuration,
        storeConfiguration: PostgresStore.Configuration = .init()
    ) -> SessionStoreDriver {
        SessionStoreDriver(name: "postgres") { logger in
            let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
            let store = try PostgresStore(client: client, configuration: storeConfiguration, logger: logger)
            return .store(store) {
                // The pool works only while `client.run()` runs, so the table is created
                // beside it. A server that is down at start-up is not fatal: requests get
                // 503 until it answers, and the first one creates the table.
                await withDiscardingTaskGroup { group in
                    group.addTask { await client.run() }
                    group.addTask { try? await store.run() }
                    do {
                        try await store.prepare()
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
        }
    }
}
#endif  // Postgres
