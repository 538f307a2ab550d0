public import Logging
public import SessionKit

/// The demo's settings, read from environment variables.
///
/// Every variable is optional; an invalid value fails at start-up with a
/// ``SessionConfigurationError`` naming the variable. Both demos, `session-demo`
/// (Hummingbird) and `session-demo-vapor`, read the same variables through it.
public struct DemoConfiguration: Sendable {
    /// Which store keeps sessions.
    public enum StoreKind: String, Sendable, CaseIterable {
        /// ``MemoryStore``: lost on restart.
        case memory
        /// ``FileStore``: one file per session, kept across restarts.
        case file
        /// ``CookieStore``: the session sealed in its cookie; needs `SESSION_COOKIE_KEYS`.
        case cookie
    }

    /// `HOST`: the address to listen on. Default `127.0.0.1`.
    public var host: String = "127.0.0.1"
    /// `PORT`: the port to listen on. Default `8080`; `0` picks a free one.
    public var port: Int = 8080
    /// `SESSION_STORE`: `memory`, `file` or `cookie`. Default `file`.
    public var store: StoreKind = .file
    /// `SESSION_FILE_PATH`: the file store's folder. Default `.sessionkit/sessions` in the working directory.
    public var filePath: String = ".sessionkit/sessions"
    /// `SESSION_COOKIE_KEYS`: the cookie store's key ring, `id:base64key,...` newest first.
    public var cookieKeys: CookieStore?
    /// The engine's settings, from `SESSION_IDLE_TIMEOUT`, `SESSION_ABSOLUTE_TIMEOUT`,
    /// `SESSION_TOUCH_INTERVAL` (seconds), `SESSION_COOKIE_NAME`, `SESSION_COOKIE_SECURE`,
    /// `CSRF_TRUSTED_ORIGINS` (comma-separated full origins) and `CSRF_MODE`
    /// (`origin-and-token`, `origin-only`, `disabled`).
    public var engine: SessionEngine.Configuration = .init()
    /// `LOG_LEVEL`: `trace`, `debug`, `info`, `notice`, `warning`, `error` or `critical`. Default `info`.
    public var logLevel: Logger.Level = .info

    /// The demo's defaults.
    public init() {}

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
        if let path = environment["SESSION_FILE_PATH"] {
            guard !path.isEmpty else { throw SessionConfigurationError(setting: "SESSION_FILE_PATH", reason: "must not be empty") }
            self.filePath = path
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
        // Re-throw the engine's own checks under the variable names the user wrote.
        do {
            try engine.validate()
        } catch {
            throw SessionConfigurationError(setting: Self.variable(for: error.setting), reason: error.reason)
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
