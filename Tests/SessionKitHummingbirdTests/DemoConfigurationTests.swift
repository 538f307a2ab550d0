import Foundation
import Logging
import SessionDemoSupport
import SessionKit
import Testing

@Suite struct DemoConfigurationTests {
    @Test func defaultsAreLoopbackPort8080FileStoreAndSecureCookie() throws {
        for configuration in [DemoConfiguration(), try DemoConfiguration(environment: [:])] {
            #expect(configuration.host == "127.0.0.1")
            #expect(configuration.port == 8080)
            #expect(configuration.store == .file)
            #expect(configuration.filePath == ".sessionkit/sessions")
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
}
