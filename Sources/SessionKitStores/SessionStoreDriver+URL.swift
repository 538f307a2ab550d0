import Foundation
public import SessionKit

#if SQLite
    import SessionKitSQLite
#endif
#if Postgres
    import SessionKitPostgres
#endif
#if Redis
    import SessionKitRedis
#endif

extension SessionStoreDriver {
    /// Makes a driver from one URL, so an app is configured by one variable
    /// (as Laravel's `SESSION_DRIVER` settings and ts-auth's driver URL do).
    ///
    /// | URL | Store |
    /// |---|---|
    /// | `memory:` | ``SessionKit/MemoryStore`` |
    /// | `file:///var/lib/app/sessions`, `file:sessions` | ``SessionKit/FileStore`` in that directory |
    /// | `sqlite:///var/lib/app/sessions.sqlite`, `sqlite:sessions.sqlite` | `SQLiteStore` in that file (trait `SQLite`) |
    /// | `redis://…`, `rediss://…`, `redis-sentinel://…`, `rediss-sentinel://…`, `redis-cluster://…`, `rediss-cluster://…` | `RedisStore`, the URL read by `RedisStore.Configuration(url:)` (trait `Redis`) |
    /// | `postgres://…`, `postgresql://…` | `PostgresStore` on a client of its own, the URL read by `PostgresStore.clientConfiguration(url:)` (trait `Postgres`) |
    ///
    /// A path is absolute after `file://` or `sqlite://` (an empty host, or
    /// `localhost`: `file:///var/sessions`, `file://localhost/var/sessions`) or
    /// when it starts with `/` (`file:/var/sessions`), and relative to the
    /// current directory otherwise (`file:sessions`); it may be percent-encoded
    /// (`%20` for a space). Every store keeps its default settings.
    ///
    /// ```swift
    /// let driver = try SessionStoreDriver(url: ProcessInfo.processInfo.environment["SESSION_STORE_URL"] ?? "memory:")
    /// ```
    ///
    /// - Parameters:
    ///   - url: The store's URL.
    ///   - setting: The name the app gave the URL's setting, for errors.
    /// - Throws: ``SessionKit/SessionConfigurationError`` naming `setting` when
    ///   the scheme is unknown, when its store's package trait is off (naming the
    ///   trait to turn on), or when the rest of the URL is not of its store's
    ///   form. The error never repeats the URL, which may hold a password.
    public init(url: String, setting: String = "SESSION_STORE_URL") throws(SessionConfigurationError) {
        guard let colon = url.firstIndex(of: ":"), url[..<colon].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "+" || $0 == ".") }),
            !url[..<colon].isEmpty
        else {
            throw SessionConfigurationError(
                setting: setting,
                reason: "must be a store URL such as memory:, file:///var/sessions, sqlite:///var/sessions.sqlite, redis://host or postgres://user@host/db"
            )
        }
        let scheme = url[..<colon].lowercased()
        let rest = url[url.index(after: colon)...]
        switch scheme {
        case "memory":
            guard rest.isEmpty || rest == "//" else {
                throw SessionConfigurationError(setting: setting, reason: "memory: takes nothing after the scheme; write memory:")
            }
            self = .memory
        case "file":
            self = .file(directory: try Self.path(in: rest, scheme: scheme, setting: setting))
        case "sqlite":
            #if SQLite
                self = .sqlite(path: try Self.path(in: rest, scheme: scheme, setting: setting))
            #else
                throw Self.traitOff(scheme: scheme, trait: "SQLite", setting: setting)
            #endif
        case "redis", "rediss", "redis-sentinel", "rediss-sentinel", "redis-cluster", "rediss-cluster":
            #if Redis
                do {
                    self = .redis(configuration: try RedisStore.Configuration(url: url))
                } catch {
                    throw Self.renamed(error, to: setting)
                }
            #else
                throw Self.traitOff(scheme: scheme, trait: "Redis", setting: setting)
            #endif
        case "postgres", "postgresql":
            #if Postgres
                do {
                    self = .postgres(configuration: try PostgresStore.clientConfiguration(url: url))
                } catch {
                    throw Self.renamed(error, to: setting)
                }
            #else
                throw Self.traitOff(scheme: scheme, trait: "Postgres", setting: setting)
            #endif
        default:
            throw SessionConfigurationError(
                setting: setting,
                reason: "unknown store scheme \"\(scheme):\"; use memory:, file:, sqlite:, redis:, rediss:, redis-sentinel:, redis-cluster:, postgres: or postgresql:"
            )
        }
    }

    /// The error for a scheme whose store's package trait is off.
    static func traitOff(scheme: String, trait: String, setting: String) -> SessionConfigurationError {
        SessionConfigurationError(
            setting: setting,
            reason: "\(scheme): needs the \(trait) trait of SessionKit; add it to the package's traits "
                + "(.package(url: ..., traits: [\"\(trait)\"]))"
        )
    }

    /// A store's own URL error, under the app's name for the setting.
    private static func renamed(_ error: SessionConfigurationError, to setting: String) -> SessionConfigurationError {
        // The stores' parsers name the variables their own documentation uses (REDIS_URL, DATABASE_URL).
        guard error.setting == "REDIS_URL" || error.setting == "DATABASE_URL" else { return error }
        return SessionConfigurationError(setting: setting, reason: error.reason)
    }

    /// The file system path of a `file:` or `sqlite:` URL (what follows the scheme's colon).
    static func path(in rest: Substring, scheme: String, setting: String) throws(SessionConfigurationError) -> String {
        var text = rest
        if text.contains("?") || text.contains("#") {
            throw SessionConfigurationError(setting: setting, reason: "\(scheme): takes no query or fragment; write \(scheme):///absolute/path")
        }
        if text.hasPrefix("//") {
            text = text.dropFirst(2)
            let hostEnd = text.firstIndex(of: "/") ?? text.endIndex
            let host = text[..<hostEnd]
            guard host.isEmpty || host.lowercased() == "localhost" else {
                throw SessionConfigurationError(
                    setting: setting,
                    reason: "\(scheme): names a local path, not a host; write \(scheme):///absolute/path or \(scheme):relative/path"
                )
            }
            text = text[hostEnd...]
        }
        guard let path = text.removingPercentEncoding else {
            throw SessionConfigurationError(setting: setting, reason: "the path of the \(scheme): URL has bad percent-encoding")
        }
        guard !path.isEmpty else {
            throw SessionConfigurationError(setting: setting, reason: "\(scheme): needs a path; write \(scheme):///absolute/path or \(scheme):relative/path")
        }
        return path
    }
}
