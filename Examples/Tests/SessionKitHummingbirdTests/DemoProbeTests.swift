import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SessionDemoApp
import SessionDemoSupport
import SessionKit
import SessionKitConformance
import SessionKitHummingbird
import Testing

/// The demo's routes outside the session middleware, `GET /healthz` and
/// `GET /metrics` (`METRICS=prometheus`), and the `METRICS` variable.
@Suite struct DemoProbeTests {
    /// Runs `body` against the demo's router on `engine`, serving `metrics`.
    private func withDemo(
        engine: SessionEngine,
        metrics: DemoMetrics?,
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let app = Application(router: DemoApplication.router(engine: engine, metrics: metrics))
        try await app.test(.router, body)
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
            let before = try await client.execute(uri: "/metrics", method: .get)
            #expect(before.status == .ok)
            #expect(before.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(before.headers[values: .setCookie].isEmpty)
            #expect(sample("sessionkit_sessions_created_total", in: before.text) == 0)

            var jar = CookieJar()
            let csrf = try await client.execute("/api/csrf", method: .get, jar: &jar)
            let token = try #require(try csrf.json().objectValue?["token"]?.stringValue)
            let login = try await client.execute(
                "/api/login", method: .post, jar: &jar, headers: .json(token: token), body: #"{"user":"alice"}"#
            )
            try #require(login.status == .ok)

            // One session for the CSRF token, one more under the new id the login regenerates.
            let after = try await client.execute("/metrics", method: .get, jar: &jar)
            #expect(sample("sessionkit_sessions_created_total", in: after.text) == 2)
            #expect(after.text.contains(#"sessionkit_store_operation_duration_count{store="memory",operation="save"}"#))
            // Outside the session middleware: a signed-in request's session is neither loaded nor touched.
            #expect(after.headers[values: .setCookie].isEmpty)
            #expect(sample("sessionkit_sessions_loaded_total", in: after.text) == 1)
        }
    }

    @Test func metricsRouteIsAbsentWhenMetricsAreOff() async throws {
        try await withDemo(engine: try SessionEngine(store: try MemoryStore()), metrics: nil) { client in
            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .notFound)
        }
    }

    /// `/healthz` is the route that does not touch the session: it answers while the store is down.
    @Test func healthzAnswersWhileTheStoreFails() async throws {
        let store = try OutageStore()
        let engine = try SessionEngine(store: store)
        try await withDemo(engine: engine, metrics: nil) { client in
            var jar = CookieJar()
            let csrf = try await client.execute("/api/csrf", method: .get, jar: &jar)
            try #require(csrf.status == .ok)
            store.mode = .failingEverything

            let health = try await client.execute("/healthz", method: .get, jar: &jar)
            #expect(health.status == .ok)
            #expect(health.text == "ok")
            #expect(health.headers[values: .setCookie].isEmpty)
            // The same cookie on a session route reaches the failing store.
            #expect(try await client.execute("/api/me", method: .get, jar: &jar).status == .serviceUnavailable)
        }
    }

    @Test(arguments: [
        ([:], DemoConfiguration.MetricsExport.off),
        (["METRICS": ""], .off),
        (["METRICS": "off"], .off),
        (["METRICS": "prometheus"], .prometheus),
        (["METRICS": "Prometheus"], .prometheus),
    ])
    func metricsVariable(environment: [String: String], expected: DemoConfiguration.MetricsExport) throws {
        #expect(try DemoConfiguration(environment: environment).metrics == expected)
    }

    @Test func unknownMetricsBackendFailsNamingTheVariable() {
        let error = #expect(throws: SessionConfigurationError.self) {
            try DemoConfiguration(environment: ["METRICS": "statsd"])
        }
        #expect(error?.setting == "METRICS")
        #expect(error?.reason.contains("statsd") == true)
    }
}
