public import Logging
public import SessionKit
import SessionKitPostgres
import SessionKitRedis
import SessionKitStores

/// The demo's settings, read from environment variables.
///
/// Every variable is optional except the one the chosen store needs
/// (`DATABASE_URL`, `REDIS_URL` or `SESSION_COOKIE_KEYS`); a missing or invalid
/// value fails at start-up with a ``SessionConfigurationError`` naming the
/// variable, never repeating a password. Both demos, `session-demo`
/// (Hummingbird) and `session-demo-vapor`, read the same variables through it.
public struct DemoConfiguration: Sendable {
    /// Which store keeps sessions.
    public enum StoreKind: String, Sendable, CaseIterable {
        /// ``MemoryStore``: lost on restart.
        case memory
        /// ``FileStore``: one file per session, kept across restarts.
        case file
        /// `SQLiteStore`: one database file, kept across restarts; the default.
        case sqlite
        /// `PostgresStore`: a table shared by every app server; needs `DATABASE_URL`.
        case postgres
        /// `RedisStore`: hashes shared by every app server; needs `REDIS_URL`.
        case redis
        /// ``CookieStore``: the session sealed in its cookie; needs `SESSION_COOKIE_KEYS`.
        case cookie
    }

    /// Where the demo's metrics go.
    public enum MetricsExport: String, Sendable, CaseIterable {
        /// Nowhere: swift-metrics keeps its no-op backend; the default.
        case off
        /// `GET /metrics` in Prometheus text, from a `PrometheusMetricsFactory`
        /// bootstrapped before the engine is created.
        case prometheus
    }

    /// `HOST`: the address to listen on. Default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// `PORT`: the port to listen on. Default `8080`; `0` picks a free one.
    public var port: Int = 8080
    /// `SESSION_STORE`: `memory`, `file`, `sqlite`, `postgres`, `redis` or `cookie`. Default `sqlite`.
    public var store: StoreKind = .sqlite
    /// `SESSION_STORE_URL`: the store as one URL, as `SessionStoreDriver(url:)` reads it
    /// (`memory:`, `file:///path`, `sqlite:///path`, `redis://…`, `rediss://…`,
    /// `redis-sentinel://…`, `redis-cluster://…`, `postgres://…`). When set, it names the
    /// store instead of `SESSION_STORE` (which must then be unset) and its
    /// variables, and every store keeps its default timeouts.
    public var storeURL: String?
    /// `SESSION_FILE_PATH`: the file store's folder. Default `.sessionkit/sessions` in the working directory.
    public var filePath: String = ".sessionkit/sessions"
    /// `SESSION_SQLITE_PATH`: the SQLite store's database file; its folder is created
    /// if missing. Default `.sessionkit/sessions.sqlite` in the working directory.
    public var sqlitePath: String = ".sessionkit/sessions.sqlite"
    /// `DATABASE_URL`: the PostgreSQL store's server,
    /// `postgres://user:password@host:port/database[?sslmode=disable]`.
    /// Read, and required, only when ``store`` is ``StoreKind/postgres``.
    public var databaseURL: String?
    /// `REDIS_URL`: the Redis store's server, in any form
    /// `RedisStore.Configuration(url:)` reads: `redis://[user:password@]host[:port][/database]`,
    /// `rediss://…` (TLS), `redis-sentinel://host:port,host:port/master-name[?db=N]`
    /// (`rediss-sentinel://` over TLS) or `redis-cluster://host:port,host:port`
    /// (`rediss-cluster://`); `?wait=N` asks for `N` replica
    /// acknowledgements per write. Read, and required, only when ``store`` is ``StoreKind/redis``.
    public var redisURL: String?
    /// `REDIS_CA_FILE`: a PEM file of CA certificates to verify a `rediss…://` server
    /// against instead of the system's trust store (a private CA).
    public var redisCAFile: String?
    /// `SESSION_STORE_TIMEOUT`: how long one store operation may take, in whole
    /// milliseconds, before the request gets `503`. The Redis store's command and
    /// connect timeouts, the PostgreSQL store's operation timeout (and the client's
    /// connect timeout), the SQLite store's busy timeout; the other stores have
    /// none. `nil` keeps each store's default (2 s for Redis and PostgreSQL, 5 s
    /// for SQLite).
    public var storeTimeout: Duration?
    /// `SESSION_COOKIE_KEYS`: the cookie store's key ring, `id:base64key,...` newest first.
    public var cookieKeys: CookieStore?
    /// The engine's settings, from `SESSION_STORE_MAX_IN_FLIGHT` (the most store
    /// operations in flight at once; past it a request gets `503` at once; default 1,024),
    /// `SESSION_IDLE_TIMEOUT`, `SESSION_ABSOLUTE_TIMEOUT`,
    /// `SESSION_TOUCH_INTERVAL` (seconds), `SESSION_COOKIE_NAME`, `SESSION_COOKIE_SECURE`,
    /// `CSRF_TRUSTED_ORIGINS` (comma-separated full origins) and `CSRF_MODE`
    /// (`origin-and-token`, `origin-only`, `disabled`).
    public var engine: SessionEngine.Configuration = DemoConfiguration.defaultEngine
    /// `LOG_LEVEL`: `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`. Default `info`.
    public var logLevel: Logger.Level = .info
    /// `METRICS`: `prometheus` serves `GET /metrics`; `off` (or unset) serves nothing. Default `off`.
    public var metrics: MetricsExport = .off

    /// The demo's defaults.
    public init() {}

    /// The engine settings the demo starts from. Unlike the library, the demo records
    /// the user agent (`SESSION_RECORD_USER_AGENT`, default true) to show devices on
    /// its sessions page; the IP address stays off (`SESSION_RECORD_IP`, default false).
    static var defaultEngine: SessionEngine.Configuration {
        var configuration = SessionEngine.Configuration()
        configuration.metadata.recordsUserAgent = true
        return configuration
    }

    /// Reads the settings from `environment`, validating each.
    ///
    /// - Parameter environment: Variable names and values, usually `ProcessInfo.processInfo.environment`.
    /// - Throws: ``SessionConfigurationError`` naming the first invalid variable.
    public init(environment: [String: String]) throws(SessionConfigurationError) {
        if let host = environment["HOST"] {
            guard !host.isEmpty else { throw SessionConfigurationError(setting: "HOST", reason: "must not be empty") }
            self.host = host
        }
        if let port = environment["PORT"] {
            guard let value = Int(port), (0...65535).contains(value) else {
                throw SessionConfigurationError(setting: "PORT", reason: "must be an integer from 0 to 65535, got '\(port)'")
            }
            self.port = value
        }
        if let store = environment["SESSION_STORE"] {
            guard let kind = StoreKind(rawValue: store.lowercased()) else {
                let choices = StoreKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw SessionConfigurationError(setting: "SESSION_STORE", reason: "must be one of \(choices), got '\(store)'")
            }
            self.store = kind
        }
        if let url = environment["SESSION_STORE_URL"] {
            guard environment["SESSION_STORE"] == nil else {
                throw SessionConfigurationError(
                    setting: "SESSION_STORE_URL",
                    reason: "names the store, and so does SESSION_STORE; set only one of them"
                )
            }
            // Parsed now so a bad URL fails at start-up; the error never quotes the URL.
            _ = try SessionStoreDriver(url: url, setting: "SESSION_STORE_URL")
            self.storeURL = url
        }
        if let path = environment["SESSION_FILE_PATH"] {
            guard !path.isEmpty else { throw SessionConfigurationError(setting: "SESSION_FILE_PATH", reason: "must not be empty") }
            self.filePath = path
        }
        if let path = environment["SESSION_SQLITE_PATH"] {
            guard !path.isEmpty else { throw SessionConfigurationError(setting: "SESSION_SQLITE_PATH", reason: "must not be empty") }
            self.sqlitePath = path
        }
        if let text = environment["SESSION_STORE_TIMEOUT"] {
            guard let value = Int(text), (1...Self.maximumStoreTimeoutMilliseconds).contains(value) else {
                throw SessionConfigurationError(
                    setting: "SESSION_STORE_TIMEOUT",
                    reason: "must be a whole number of milliseconds from 1 to \(Self.maximumStoreTimeoutMilliseconds), got '\(text)'"
                )
            }
            self.storeTimeout = .milliseconds(value)
        }
        // A URL is read only for the store that uses it: hosting platforms set
        // DATABASE_URL for other purposes, in forms this demo need not understand.
        switch storeURL == nil ? store : nil {
        case .postgres:
            guard let url = environment["DATABASE_URL"], !url.isEmpty else {
                throw SessionConfigurationError(
                    setting: "DATABASE_URL",
                    reason: "SESSION_STORE=postgres needs the server's URL, e.g. postgres://user:password@127.0.0.1:5432/app?sslmode=disable"
                )
            }
            // Parsed now so a bad URL fails at start-up; the error never quotes the password.
            _ = try PostgresStore.clientConfiguration(url: url)
            self.databaseURL = url
        case .redis:
            guard let url = environment["REDIS_URL"], !url.isEmpty else {
                throw SessionConfigurationError(
                    setting: "REDIS_URL",
                    reason: "SESSION_STORE=redis needs the server's URL, e.g. redis://127.0.0.1:6379/0"
                )
            }
            let parsed = try RedisStore.Configuration(url: url)
            self.redisURL = url
            if let caFile = environment["REDIS_CA_FILE"], !caFile.isEmpty {
                guard parsed.tls != nil else {
                    throw SessionConfigurationError(
                        setting: "REDIS_CA_FILE",
                        reason: "a CA file is for TLS: REDIS_URL must be rediss://, rediss-sentinel:// or rediss-cluster:// with it"
                    )
                }
                self.redisCAFile = caFile
            }
        case .memory, .file, .sqlite, .cookie, nil:
            break
        }
        if let text = environment["SESSION_STORE_MAX_IN_FLIGHT"] {
            guard let value = Int(text), value >= 1 else {
                throw SessionConfigurationError(
                    setting: "SESSION_STORE_MAX_IN_FLIGHT",
                    reason: "must be a whole number of store operations, at least 1, got '\(text)'"
                )
            }
            engine.maximumInFlightStoreOperations = value
        }
        if let value = try Self.seconds(environment, "SESSION_IDLE_TIMEOUT") { engine.expiry.idleTimeout = value }
        if let value = try Self.seconds(environment, "SESSION_ABSOLUTE_TIMEOUT") { engine.expiry.absoluteTimeout = value }
        if let value = try Self.seconds(environment, "SESSION_TOUCH_INTERVAL", allowZero: true) { engine.expiry.touchInterval = value }
        if let name = environment["SESSION_COOKIE_NAME"] { engine.cookie.name = name }
        if let secure = environment["SESSION_COOKIE_SECURE"] {
            switch secure.lowercased() {
            case "true", "1", "yes": engine.cookie.isSecure = true
            case "false", "0", "no": engine.cookie.isSecure = false
            default:
                throw SessionConfigurationError(setting: "SESSION_COOKIE_SECURE", reason: "must be true or false, got '\(secure)'")
            }
        }
        if let value = try Self.flag(environment, "SESSION_RECORD_USER_AGENT") { engine.metadata.recordsUserAgent = value }
        if let value = try Self.flag(environment, "SESSION_RECORD_IP") { engine.metadata.recordsIPAddress = value }
        if let keyList = environment["SESSION_COOKIE_KEYS"] {
            cookieKeys = try CookieStore(keyList: keyList)
        }
        if store == .cookie, cookieKeys == nil {
            throw SessionConfigurationError(
                setting: "SESSION_COOKIE_KEYS",
                reason: "SESSION_STORE=cookie needs a key ring: id:base64key with 32 random bytes, e.g. k1:$(head -c32 /dev/urandom | base64)"
            )
        }
        if let origins = environment["CSRF_TRUSTED_ORIGINS"] {
            engine.csrf.trustedOrigins = CSRFConfiguration.origins(fromList: origins)
        }
        if let mode = environment["CSRF_MODE"] {
            switch mode.lowercased() {
            case "origin-and-token": engine.csrf.mode = .originAndToken
            case "origin-only": engine.csrf.mode = .originOnly
            case "disabled": engine.csrf.mode = .disabled
            default:
                throw SessionConfigurationError(
                    setting: "CSRF_MODE",
                    reason: "must be origin-and-token, origin-only or disabled, got '\(mode)'"
                )
            }
        }
        if let level = environment["LOG_LEVEL"] {
            guard let value = Logger.Level(rawValue: level.lowercased()) else {
                let choices = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw SessionConfigurationError(setting: "LOG_LEVEL", reason: "must be one of \(choices), got '\(level)'")
            }
            self.logLevel = value
        }
        if let metrics = environment["METRICS"], !metrics.isEmpty {
            guard let value = MetricsExport(rawValue: metrics.lowercased()) else {
                throw SessionConfigurationError(setting: "METRICS", reason: "must be prometheus or off, got '\(metrics)'")
            }
            self.metrics = value
        }
        // Re-throw the engine's own checks under the variable names the user wrote.
        do {
            try engine.validate()
        } catch {
            throw SessionConfigurationError(setting: Self.variable(for: error.setting), reason: error.reason)
        }
    }

    /// The largest `SESSION_STORE_TIMEOUT`: ten minutes.
    static let maximumStoreTimeoutMilliseconds = 600_000

    private static func flag(_ environment: [String: String], _ name: String) throws(SessionConfigurationError) -> Bool? {
        guard let text = environment[name] else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw SessionConfigurationError(setting: name, reason: "must be true or false, got '\(text)'")
        }
    }

    private static func seconds(
        _ environment: [String: String],
        _ name: String,
        allowZero: Bool = false
    ) throws(SessionConfigurationError) -> Duration? {
        guard let text = environment[name] else { return nil }
        guard let value = Int(text), value > 0 || (allowZero && value == 0) else {
            throw SessionConfigurationError(
                setting: name,
                reason: "must be a whole number of seconds\(allowZero ? " (0 or more)" : " greater than 0"), got '\(text)'"
            )
        }
        return .seconds(value)
    }

    private static func variable(for setting: String) -> String {
        switch setting {
        case "idleTimeout": return "SESSION_IDLE_TIMEOUT"
        case "absoluteTimeout": return "SESSION_ABSOLUTE_TIMEOUT"
        case "touchInterval": return "SESSION_TOUCH_INTERVAL"
        // The CSRF cookie's name is not configurable here, so a clash with it comes from SESSION_COOKIE_NAME.
        case "cookie.name", "csrf.cookieName": return "SESSION_COOKIE_NAME"
        case "cookie.sameSite", "cookie.secure": return "SESSION_COOKIE_SECURE"
        case "csrf.trustedOrigins": return "CSRF_TRUSTED_ORIGINS"
        default: return setting
        }
    }
}
