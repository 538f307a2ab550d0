import SessionDemoSupport
import SessionDemoVaporApp
import SessionKit
import SessionKitConformance
import Synchronization
import Testing
import Vapor
import VaporTesting

/// `session-demo-vapor`'s routes outside the session middleware: `GET /healthz`
/// and `GET /metrics` (`METRICS=prometheus`).
@Suite struct DemoProbeTests {
    /// Runs `body` against the demo's routes on `engine`, serving `metrics`.
    private func withDemo(
        engine: SessionEngine,
        metrics: DemoMetrics?,
        _ body: (any TestingApplicationTester) async throws -> Void
    ) async throws {
        try await withApp(configure: { app in
            DemoVaporApplication.routes(app, engine: engine, metrics: metrics)
        }) { app in
            try await body(try app.testing())
        }
    }

    /// The value of the unlabelled sample `name` in a Prometheus text exposition.
    private func sample(_ name: String, in exposition: String) -> Double? {
        exposition.split(separator: "\n")
            .first { $0.hasPrefix(name + " ") }
            .flatMap { Double($0.dropFirst(name.count + 1)) }
    }

    @Test func metricsCountTheSessionsALoginCreates() async throws {
        let metrics = DemoMetrics()
        let engine = try SessionEngine(store: try MemoryStore(), metricsFactory: metrics.factory)
        try await withDemo(engine: engine, metrics: metrics) { client in
            let before = try await client.sendRequest(.GET, "/metrics")
            #expect(before.status == .ok)
            #expect(before.headers[.contentType] == ["text/plain; version=0.0.4; charset=utf-8"])
            #expect(before.headers[.setCookie].isEmpty)
            #expect(sample("sessionkit_sessions_created_total", in: before.text) == 0)

            var jar = CookieJar()
            let csrf = try await client.send(.GET, "/api/csrf", jar: &jar)
            let token = try #require(try csrf.json().objectValue?["token"]?.stringValue)
            let login = try await client.send(.POST, "/api/login", jar: &jar, headers: .json(token: token), body: #"{"user":"alice"}"#)
            try #require(login.status == .ok)

            // One session for the CSRF token, one more under the new id the login regenerates.
            let after = try await client.send(.GET, "/metrics", jar: &jar)
            #expect(sample("sessionkit_sessions_created_total", in: after.text) == 2)
            #expect(after.text.contains(#"sessionkit_store_operation_duration_count{store="memory",operation="save"}"#))
            // Outside the session middleware: a signed-in request's session is neither loaded nor touched.
            #expect(after.headers[.setCookie].isEmpty)
            #expect(sample("sessionkit_sessions_loaded_total", in: after.text) == 1)
        }
    }

    @Test func metricsRouteIsAbsentWhenMetricsAreOff() async throws {
        try await withDemo(engine: try SessionEngine(store: try MemoryStore()), metrics: nil) { client in
            let response = try await client.sendRequest(.GET, "/metrics")
            #expect(response.status == .notFound)
        }
    }

    /// `/healthz` is the route that does not touch the session: it answers while the store is down.
    @Test func healthzAnswersWhileTheStoreFails() async throws {
        let store = try OutageStore()
        let engine = try SessionEngine(store: store)
        try await withDemo(engine: engine, metrics: nil) { client in
            var jar = CookieJar()
            try #require(try await client.send(.GET, "/api/csrf", jar: &jar).status == .ok)
            store.mode = .failingEverything

            let health = try await client.send(.GET, "/healthz", jar: &jar)
            #expect(health.status == .ok)
            #expect(health.text == "ok")
            #expect(health.headers[.setCookie].isEmpty)
            // The same cookie on a session route reaches the failing store.
            #expect(try await client.send(.GET, "/api/me", jar: &jar).status == .serviceUnavailable)
        }
    }
}

/// Every message a logger was given, for searching.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])

    /// The messages with their metadata, in order.
    var messages: [String] { lines.withLock { $0 } }

    /// A handler that writes into this capture.
    func handler(label: String) -> any LogHandler { Handler(capture: self) }

    private struct Handler: LogHandler {
        let capture: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }
    }
}

extension DemoProbeTests {
    /// A session token must never reach a log: Vapor's trace output holds each
    /// request's head, Cookie header included, so `LOG_LEVEL=trace` stops at debug.
    @Test func traceLogLevelNeverLogsTheCookieHeader() async throws {
        let capture = CapturedLog()
        let token = String(repeating: "A", count: 43)  // canonical base64url: looked up, then "unknown"
        let configuration = try DemoConfiguration(environment: ["LOG_LEVEL": "trace", "SESSION_STORE": "memory", "PORT": "0"])
        try await withApp(configure: { app in
            app.logger = Logger(label: "session-demo-vapor", factory: capture.handler(label:))
            app.logger.logLevel = .trace
            try await DemoVaporApplication.configure(app, configuration: configuration)
        }) { app in
            // Over a real connection, so Vapor's HTTP decoder runs.
            try await app.testing(method: .running(port: 0)).test(
                .GET, "/api/me", headers: ["Cookie": "__Host-sessionkit=\(token)"]
            ) { response in
                #expect(response.status == .ok)
            }
        }
        #expect(capture.messages.contains { $0.contains("unknown or expired session id") })
        #expect(!capture.messages.contains { $0.contains(token) })
    }
}
