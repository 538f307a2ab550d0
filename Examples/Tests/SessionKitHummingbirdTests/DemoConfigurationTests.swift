import Foundation
import Logging
import SessionDemoSupport
import SessionKit
import Testing

@Suite struct DemoConfigurationTests {
    @Test func defaultsAreLoopbackPort8080SQLiteStoreAndSecureCookie() throws {
        for configuration in [DemoConfiguration(), try DemoConfiguration(environment: [:])] {
            #expect(configuration.host == "127.0.0.1")
            #expect(configuration.port == 8080)
            #expect(configuration.store == .sqlite)
            #expect(configuration.sqlitePath == ".sessionkit/sessions.sqlite")
            #expect(configuration.filePath == ".sessionkit/sessions")
            #expect(configuration.databaseURL == nil)
            #expect(configuration.redisURL == nil)
            #expect(configuration.storeTimeout == nil)
            #expect(configuration.engine.cookie.isSecure)
            #expect(configuration.engine.cookie.effectiveName == "__Host-sessionkit")
            #expect(configuration.engine.expiry == SessionExpiryPolicy())
            #expect(configuration.logLevel == .info)
        }
    }

    @Test func unrelatedVariablesAreIgnored() throws {
        let configuration = try DemoConfiguration(environment: ["PATH": "/usr/bin", "SESSION_SECRET": "x", "port": "1"])

        #expect(configuration.port == 8080)
    }

    @Test func everyVariableIsRead() throws {
        let configuration = try DemoConfiguration(environment: [
            "HOST": "0.0.0.0",
            "PORT": "9000",
            "SESSION_STORE": "memory",
            "SESSION_FILE_PATH": "/var/lib/demo",
            "SESSION_SQLITE_PATH": "/var/lib/demo.sqlite",
            "SESSION_STORE_TIMEOUT": "750",
            "SESSION_STORE_MAX_IN_FLIGHT": "64",
            "SESSION_IDLE_TIMEOUT": "600",
            "SESSION_ABSOLUTE_TIMEOUT": "3600",
            "SESSION_TOUCH_INTERVAL": "30",
            "SESSION_COOKIE_NAME": "demo",
            "SESSION_COOKIE_SECURE": "false",
            "CSRF_TRUSTED_ORIGINS": " https://admin.example.com, http://localhost:3000 ,,",
            "CSRF_MODE": "origin-only",
            "LOG_LEVEL": "DEBUG",
        ])

        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 9000)
        #expect(configuration.store == .memory)
        #expect(configuration.filePath == "/var/lib/demo")
        #expect(configuration.sqlitePath == "/var/lib/demo.sqlite")
        #expect(configuration.storeTimeout == .milliseconds(750))
        #expect(configuration.engine.maximumInFlightStoreOperations == 64)
        #expect(configuration.engine.expiry.idleTimeout == .seconds(600))
        #expect(configuration.engine.expiry.absoluteTimeout == .seconds(3600))
        #expect(configuration.engine.expiry.touchInterval == .seconds(30))
        #expect(configuration.engine.cookie.name == "demo")
        #expect(!configuration.engine.cookie.isSecure)
        #expect(configuration.engine.cookie.effectiveName == "demo")
        #expect(configuration.engine.csrf.trustedOrigins == ["https://admin.example.com", "http://localhost:3000"])
        #expect(configuration.engine.csrf.mode == .originOnly)
        #expect(configuration.logLevel == .debug)
    }

    @Test(arguments: [
        ("origin-and-token", CSRFConfiguration.Mode.originAndToken), ("ORIGIN-ONLY", .originOnly), ("disabled", .disabled),
    ])
    func csrfModeIsRead(_ text: String, _ mode: CSRFConfiguration.Mode) throws {
        #expect(try DemoConfiguration(environment: ["CSRF_MODE": text]).engine.csrf.mode == mode)
    }

    @Test func cookieStoreReadsItsKeyRing() throws {
        let configuration = try DemoConfiguration(environment: [
            "SESSION_STORE": "cookie",
            "SESSION_COOKIE_KEYS": "new:\(Self.key(1)), old:\(Self.key(2))",
        ])

        #expect(configuration.store == .cookie)
        #expect(configuration.cookieKeys != nil)
    }

    @Test func postgresStoreReadsDatabaseURL() throws {
        let url = "postgres://app:s3cret@db.internal:5433/sessions?sslmode=disable"
        let configuration = try DemoConfiguration(environment: ["SESSION_STORE": "postgres", "DATABASE_URL": url])

        #expect(configuration.store == .postgres)
        #expect(configuration.databaseURL == url)
        #expect(configuration.redisURL == nil)
    }

    @Test func redisStoreReadsRedisURL() throws {
        let configuration = try DemoConfiguration(environment: [
            "SESSION_STORE": "redis", "REDIS_URL": "redis://:s3cret@127.0.0.1:6380/2",
        ])

        #expect(configuration.store == .redis)
        #expect(configuration.redisURL == "redis://:s3cret@127.0.0.1:6380/2")
        #expect(configuration.databaseURL == nil)
    }

    /// Hosting platforms set `DATABASE_URL` for the app's own database, in any form:
    /// only the store that uses a URL reads it.
    @Test func urlsOfUnusedStoresAreIgnored() throws {
        let configuration = try DemoConfiguration(environment: [
            "DATABASE_URL": "mysql://app@db/app", "REDIS_URL": "rediss://cache:6380",
        ])

        #expect(configuration.store == .sqlite)
        #expect(configuration.databaseURL == nil)
        #expect(configuration.redisURL == nil)
    }

    /// A bad URL is refused at start-up without repeating its password.
    @Test(arguments: [
        ("postgres", "DATABASE_URL", "mysql://app:hunter2@db/app"),
        ("postgres", "DATABASE_URL", "postgres://app:hunter2@db:99999/app"),
        ("postgres", "DATABASE_URL", "postgres://app:hunter2@db/app?sslmode=sometimes"),
        ("redis", "REDIS_URL", "rediss-sentinel://:hunter2@cache:26379/sessions?wait=x"),
        ("redis", "REDIS_URL", "redis-sentinel://:hunter2@cache:26379"),
        ("redis", "REDIS_URL", "redis://:hunter2@cache:0"),
        ("redis", "REDIS_URL", "redis://:hunter2@cache/zero"),
    ])
    func badStoreURLThrowsNamingTheVariableWithoutThePassword(_ store: String, _ variable: String, _ url: String) {
        let error = #expect(throws: SessionConfigurationError.self) {
            try DemoConfiguration(environment: ["SESSION_STORE": store, variable: url])
        }

        #expect(error?.setting == variable)
        #expect(error?.description.contains("hunter2") == false)
    }

    /// `REDIS_CA_FILE` is the CA for a `rediss://` server; with plain `redis://` it is refused.
    @Test func redisCAFileGoesWithTLSOnly() throws {
        let configuration = try DemoConfiguration(environment: [
            "SESSION_STORE": "redis", "REDIS_URL": "rediss://:s3cret@cache:6380/1", "REDIS_CA_FILE": "/etc/redis/ca.crt",
        ])
        #expect(configuration.redisCAFile == "/etc/redis/ca.crt")

        let error = #expect(throws: SessionConfigurationError.self) {
            try DemoConfiguration(environment: [
                "SESSION_STORE": "redis", "REDIS_URL": "redis://cache:6379", "REDIS_CA_FILE": "/etc/redis/ca.crt",
            ])
        }
        #expect(error?.setting == "REDIS_CA_FILE")
    }

    @Test func sqliteStoreCreatesItsFolder() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("nested/sessions.sqlite").path
        let configuration = try DemoConfiguration(environment: ["SESSION_SQLITE_PATH": path])

        let backend = try await DemoEngineFactory.make(configuration: configuration, logger: Logger(label: "test"))

        #expect(backend.engine.storeName == "sqlite")
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func unusableSQLitePathThrowsNamingTheVariable() async throws {
        let configuration = try DemoConfiguration(environment: ["SESSION_SQLITE_PATH": "/proc/sessionkit-demo/sessions.sqlite"])

        let error = await #expect(throws: SessionConfigurationError.self) {
            try await DemoEngineFactory.make(configuration: configuration, logger: Logger(label: "test"))
        }

        #expect(error?.setting == "SESSION_SQLITE_PATH")
    }

    /// Network stores connect lazily, so the demo starts (and answers 503) while its server is down.
    @Test(arguments: [
        ("postgres", "DATABASE_URL", "postgres://app@127.0.0.1:1/app?sslmode=disable"),
        ("redis", "REDIS_URL", "redis://127.0.0.1:1"),
    ])
    func networkStoresAreBuiltWithoutTheirServer(_ store: String, _ variable: String, _ url: String) async throws {
        let configuration = try DemoConfiguration(environment: ["SESSION_STORE": store, variable: url])

        let backend = try await DemoEngineFactory.make(configuration: configuration, logger: Logger(label: "test"))

        #expect(backend.engine.storeName == store)
        #expect(!backend.backgroundTasks.isEmpty)
    }

    /// 32 bytes of `byte` in standard base64, as an operator would paste them.
    private static func key(_ byte: UInt8) -> String {
        Data(repeating: byte, count: 32).base64EncodedString()
    }

    @Test func portZeroPicksAFreePort() throws {
        #expect(try DemoConfiguration(environment: ["PORT": "0"]).port == 0)
    }

    @Test func touchIntervalMayBeZero() throws {
        #expect(try DemoConfiguration(environment: ["SESSION_TOUCH_INTERVAL": "0"]).engine.expiry.touchInterval == .zero)
    }

    @Test(arguments: [
        ("memory", DemoConfiguration.StoreKind.memory), ("MEMORY", .memory), ("file", .file), ("File", .file),
        ("sqlite", .sqlite), ("SQLite", .sqlite),
    ])
    func storeNameIsCaseInsensitive(_ text: String, _ kind: DemoConfiguration.StoreKind) throws {
        #expect(try DemoConfiguration(environment: ["SESSION_STORE": text]).store == kind)
    }

    @Test(arguments: [("true", true), ("TRUE", true), ("1", true), ("yes", true), ("false", false), ("0", false), ("No", false)])
    func cookieSecureAcceptsBooleanSpellings(_ text: String, _ isSecure: Bool) throws {
        #expect(try DemoConfiguration(environment: ["SESSION_COOKIE_SECURE": text]).engine.cookie.isSecure == isSecure)
    }

    /// An environment that must be refused, and the variable the error must name.
    struct Invalid: Sendable, CustomTestStringConvertible {
        var environment: [String: String]
        var setting: String

        var testDescription: String {
            environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }

        static let all: [Invalid] = [
            Invalid(environment: ["HOST": ""], setting: "HOST"),
            Invalid(environment: ["PORT": "abc"], setting: "PORT"),
            Invalid(environment: ["PORT": "70000"], setting: "PORT"),
            Invalid(environment: ["PORT": "-1"], setting: "PORT"),
            Invalid(environment: ["SESSION_STORE": "mongo"], setting: "SESSION_STORE"),
            Invalid(environment: ["SESSION_FILE_PATH": ""], setting: "SESSION_FILE_PATH"),
            Invalid(environment: ["SESSION_SQLITE_PATH": ""], setting: "SESSION_SQLITE_PATH"),
            Invalid(environment: ["SESSION_STORE": "postgres"], setting: "DATABASE_URL"),
            Invalid(environment: ["SESSION_STORE": "postgres", "DATABASE_URL": ""], setting: "DATABASE_URL"),
            Invalid(environment: ["SESSION_STORE": "postgres", "REDIS_URL": "redis://127.0.0.1"], setting: "DATABASE_URL"),
            Invalid(environment: ["SESSION_STORE": "redis"], setting: "REDIS_URL"),
            Invalid(environment: ["SESSION_STORE": "redis", "REDIS_URL": ""], setting: "REDIS_URL"),
            Invalid(environment: ["SESSION_STORE": "redis", "REDIS_URL": "127.0.0.1:6379"], setting: "REDIS_URL"),
            Invalid(environment: ["SESSION_STORE_TIMEOUT": "0"], setting: "SESSION_STORE_TIMEOUT"),
            Invalid(environment: ["SESSION_STORE_MAX_IN_FLIGHT": "0"], setting: "SESSION_STORE_MAX_IN_FLIGHT"),
            Invalid(environment: ["SESSION_STORE_MAX_IN_FLIGHT": "many"], setting: "SESSION_STORE_MAX_IN_FLIGHT"),
            Invalid(environment: ["SESSION_STORE_TIMEOUT": "1.5"], setting: "SESSION_STORE_TIMEOUT"),
            Invalid(environment: ["SESSION_STORE_TIMEOUT": "600001"], setting: "SESSION_STORE_TIMEOUT"),
            Invalid(environment: ["SESSION_IDLE_TIMEOUT": "0"], setting: "SESSION_IDLE_TIMEOUT"),
            Invalid(environment: ["SESSION_IDLE_TIMEOUT": "1.5"], setting: "SESSION_IDLE_TIMEOUT"),
            Invalid(environment: ["SESSION_ABSOLUTE_TIMEOUT": "-5"], setting: "SESSION_ABSOLUTE_TIMEOUT"),
            Invalid(environment: ["SESSION_TOUCH_INTERVAL": "x"], setting: "SESSION_TOUCH_INTERVAL"),
            Invalid(environment: ["SESSION_COOKIE_SECURE": "maybe"], setting: "SESSION_COOKIE_SECURE"),
            Invalid(environment: ["SESSION_COOKIE_NAME": "bad name"], setting: "SESSION_COOKIE_NAME"),
            Invalid(environment: ["SESSION_COOKIE_NAME": ""], setting: "SESSION_COOKIE_NAME"),
            Invalid(environment: ["SESSION_STORE": "cookie"], setting: "SESSION_COOKIE_KEYS"),
            Invalid(environment: ["SESSION_COOKIE_KEYS": "k1"], setting: "SESSION_COOKIE_KEYS"),
            Invalid(environment: ["SESSION_COOKIE_KEYS": "k1:c2hvcnQ="], setting: "SESSION_COOKIE_KEYS"),
            Invalid(environment: ["SESSION_COOKIE_KEYS": "k1:not base64!"], setting: "SESSION_COOKIE_KEYS"),
            Invalid(environment: ["CSRF_MODE": "off"], setting: "CSRF_MODE"),
            Invalid(environment: ["LOG_LEVEL": "verbose"], setting: "LOG_LEVEL"),
            Invalid(environment: ["CSRF_TRUSTED_ORIGINS": "https://admin.example.com/"], setting: "CSRF_TRUSTED_ORIGINS"),
            Invalid(environment: ["CSRF_TRUSTED_ORIGINS": "admin.example.com"], setting: "CSRF_TRUSTED_ORIGINS"),
            Invalid(
                environment: ["SESSION_COOKIE_NAME": "__Host-demo", "SESSION_COOKIE_SECURE": "false"],
                setting: "SESSION_COOKIE_NAME"
            ),
            // The CSRF cookie's name is fixed, so a clash with it is the session cookie name's fault.
            Invalid(
                environment: ["SESSION_COOKIE_NAME": "XSRF-TOKEN", "SESSION_COOKIE_SECURE": "false"],
                setting: "SESSION_COOKIE_NAME"
            ),
            Invalid(
                environment: ["SESSION_IDLE_TIMEOUT": "7200", "SESSION_ABSOLUTE_TIMEOUT": "3600"],
                setting: "SESSION_IDLE_TIMEOUT"
            ),
            Invalid(
                environment: ["SESSION_IDLE_TIMEOUT": "60", "SESSION_TOUCH_INTERVAL": "60"],
                setting: "SESSION_TOUCH_INTERVAL"
            ),
        ]
    }

    @Test(arguments: Invalid.all)
    func invalidValueThrowsNamingTheVariable(_ invalid: Invalid) {
        let error = #expect(throws: SessionConfigurationError.self) {
            try DemoConfiguration(environment: invalid.environment)
        }

        #expect(error?.setting == invalid.setting)
        #expect(error?.reason.isEmpty == false)
        #expect(error?.description.contains(invalid.setting) == true)
    }

    // MARK: SESSION_STORE_URL

    @Test func storeURLNamesTheStore() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let configuration = try DemoConfiguration(environment: ["SESSION_STORE_URL": "sqlite://\(folder.path)/sessions.sqlite"])

        let backend = try await DemoEngineFactory.make(configuration: configuration, logger: Logger(label: "test"))

        #expect(backend.engine.storeName == "sqlite")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("sessions.sqlite").path))
    }

    @Test func storeURLWithoutItsServerIsBuiltToo() async throws {
        let configuration = try DemoConfiguration(environment: ["SESSION_STORE_URL": "redis://127.0.0.1:1"])

        let backend = try await DemoEngineFactory.make(configuration: configuration, logger: Logger(label: "test"))

        #expect(backend.engine.storeName == "redis")
    }

    @Test(arguments: ["mysql://root:hunter2@db/app", "postgres://app:hunter2@db:0/app", "file://elsewhere/sessions"])
    func badStoreURLFailsAtStartUpNamingTheVariable(_ url: String) {
        let error = #expect(throws: SessionConfigurationError.self) {
            try DemoConfiguration(environment: ["SESSION_STORE_URL": url])
        }

        #expect(error?.setting == "SESSION_STORE_URL")
        #expect(error?.description.contains("hunter2") == false)
    }

    @Test func storeURLAndSessionStoreTogetherIsAnError() {
        let error = #expect(throws: SessionConfigurationError.self) {
            try DemoConfiguration(environment: ["SESSION_STORE_URL": "memory:", "SESSION_STORE": "memory"])
        }

        #expect(error?.setting == "SESSION_STORE_URL")
    }
}
