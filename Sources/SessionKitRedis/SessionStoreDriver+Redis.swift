#if Redis
public import SessionKit

extension SessionStoreDriver {
    /// A ``RedisStore`` on the server a URL names.
    ///
    /// ```swift
    /// try await app.sessionKit.use(.redis(url: Environment.get("REDIS_URL") ?? "redis://localhost"))
    /// ```
    ///
    /// No connection opens before the first request, so the app starts while
    /// Redis is down and answers `503` until it is up. The background work closes
    /// the connections when it is cancelled.
    ///
    /// - Parameter url: The server's URL, in any form ``RedisStore/Configuration/init(url:)`` reads.
    /// - Returns: The driver.
    /// - Throws: ``SessionKit/SessionConfigurationError`` naming `REDIS_URL` when
    ///   the URL cannot be used.
    public static func redis(url: String) throws(SessionConfigurationError) -> SessionStoreDriver {
        .redis(configuration: try RedisStore.Configuration(url: url))
    }

    /// A ``RedisStore`` with these settings.
    ///
    /// - Parameter configuration: The server, credentials, key prefix, timeouts and pool size.
    /// - Returns: The driver; making it throws ``SessionKit/SessionConfigurationError``
    ///   naming the setting that is out of range.
    public static func redis(configuration: RedisStore.Configuration) -> SessionStoreDriver {
        SessionStoreDriver(name: "redis") { logger in
            let store = try RedisStore(configuration: configuration, logger: logger)
            return .store(store, run: store.run)
        }
    }
}
#endif  // Redis
