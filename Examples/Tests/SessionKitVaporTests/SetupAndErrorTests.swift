import Foundation
import SessionKit
import SessionKitConformance
import SessionKitVapor
import Testing
import Vapor
import VaporTesting

/// The one-line set-up (`app.sessionKit.use(_:)`) and SessionKit's errors through the app's error handling.
@Suite struct SetupAndErrorTests {
    @Test func useSetsTheEngineOnTheDriversStore() async throws {
        try await withApp { app in
            try await app.sessionKit.use(.memory)
            app.middleware.use(app.sessionKit.middleware)
            app.post("count") { req in "\(req.sessionKit.increment("count"))" }
            app.get("token") { req in req.sessionKit.csrfToken() }

            let client = try app.testing()
            var jar = CookieJar()
            let token = try await client.send(.GET, "/token", jar: &jar).text
            let response = try await client.send(.POST, "/count", jar: &jar, headers: ["X-CSRF-Token": token])

            #expect(app.sessionKit.engine.storeName == "memory")
            #expect(response.text == "1")
        }
    }

    @Test func middlewareMayBeRegisteredBeforeUse() async throws {
        try await withApp { app in
            app.middleware.use(app.sessionKit.middleware)
            app.get("token") { req in req.sessionKit.csrfToken() }
            try await app.sessionKit.use(.file(directory: FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-\(UUID().uuidString)").path))

            let response = try await app.testing().sendRequest(.GET, "/token")

            #expect(response.status == .ok)
            #expect(app.sessionKit.engine.storeName == "file")
        }
    }

    @Test func cookieStoreNeedsNoBackgroundWork() async throws {
        try await withApp { app in
            try await app.sessionKit.use(.cookie(keys: [try CookieStore.Key.generate(id: "k1")]))
            app.middleware.use(app.sessionKit.middleware)
            app.get("token") { req in req.sessionKit.csrfToken() }

            let response = try await app.testing().sendRequest(.GET, "/token")

            #expect(response.status == .ok)
            #expect(app.sessionKit.engine.storeName == "cookie")
        }
    }

    @Test func secondUseIsAConfigurationError() async throws {
        try await withApp { app in
            try await app.sessionKit.use(.memory)
            let error = await #expect(throws: SessionConfigurationError.self) {
                try await app.sessionKit.use(.memory)
            }
            #expect(error?.setting == "app.sessionKit")
        }
    }

    @Test func badStoreSettingFailsUseNamingTheSetting() async throws {
        try await withApp { app in
            let error = await #expect(throws: SessionConfigurationError.self) {
                try await app.sessionKit.use(.file(directory: "/proc/sessionkit-cannot-be-here"))
            }
            #expect(error?.setting == "FileStore.directory")
        }
    }

    /// The middleware without an engine is a clear error when the app starts, not a crash at the first request.
    @Test func appWithTheMiddlewareButNoEngineFailsToStart() async throws {
        let app = try await Application.make(.testing)
        app.middleware.use(app.sessionKit.middleware)
        app.get("token") { req in req.sessionKit.csrfToken() }

        let error = #expect(throws: SessionConfigurationError.self) {
            try app.boot()
        }

        #expect(error?.setting == "app.sessionKit")
        #expect(error?.reason.contains("app.sessionKit.use(") == true)
        try await app.asyncShutdown()
    }

    @Test func asyncStartWithoutEngineFailsToo() async throws {
        let app = try await Application.make(.testing)
        app.middleware.use(app.sessionKit.middleware)

        await #expect(throws: SessionConfigurationError.self) {
            try await app.asyncBoot()
        }
        try await app.asyncShutdown()
    }
}

// MARK: Errors through the app

extension SetupAndErrorTests {
    /// An app's own error handling, replacing Vapor's default `ErrorMiddleware`:
    /// SessionKit's errors in the app's style, anything else as a plain 500.
    private static let restyling = ErrorMiddleware { _, error in
        guard let error = error as? SessionKitVaporError else { return Response(status: .internalServerError) }
        let kind = error.csrfError != nil ? "csrf" : "store"
        var headers = error.headers
        headers.replaceOrAdd(name: .contentType, value: "text/html; charset=utf-8")
        return Response(status: error.status, headers: headers, body: .init(string: "<p class=\"\(kind)\">\(error.reason)</p>"))
    }

    private func withRestylingApp(
        store: (any SessionStore)? = nil,
        configuration: SessionEngine.Configuration = .init(),
        _ body: (Application) async throws -> Void
    ) async throws {
        let store: any SessionStore = try store ?? MemoryStore()
        try await withApp(configure: { app in
            app.middleware = .init()
            app.middleware.use(Self.restyling)
            app.sessionKit.engine = try SessionEngine(store: store, configuration: configuration)
            app.middleware.use(app.sessionKit.middleware(throwsErrors: true))
            app.get("token") { req in req.sessionKit.csrfToken() }
            app.get("count") { req in "\(req.sessionKit.get("count")?.intValue ?? 0)" }
            app.on(.POST, "echo", body: .collect(maxSize: "1mb")) { req -> Response in
                req.sessionKit.increment("count")
                return Response(status: .ok, body: .init(buffer: req.body.data ?? ByteBuffer()))
            }
        }) { app in
            try await body(app)
        }
    }

    @Test func csrfRefusalIsRestyledByTheAppsErrorMiddleware() async throws {
        try await withRestylingApp { app in
            var jar = CookieJar()
            let response = try await app.testing().send(.POST, "/echo", jar: &jar)

            #expect(response.status == .forbidden)
            #expect(response.text == "<p class=\"csrf\">missing CSRF token</p>")
            #expect(response.headers[.cacheControl] == ["no-store"])
            #expect(response.headers[.setCookie].isEmpty)
        }
    }

    @Test func oversizedFormIsRestyledByTheAppsErrorMiddleware() async throws {
        var configuration = SessionEngine.Configuration()
        configuration.csrf.maximumFormBodySize = 1024
        try await withRestylingApp(configuration: configuration) { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await client.send(.GET, "/token", jar: &jar).text

            let response = try await client.send(
                .POST,
                "/echo",
                jar: &jar,
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: "_token=\(token)&pad=" + String(repeating: "x", count: 2048)
            )

            #expect(response.status == .payloadTooLarge)
            #expect(response.text == "<p class=\"csrf\">form body too large to check the CSRF token</p>")
            #expect(try await client.send(.GET, "/count", jar: &jar).text == "0")
        }
    }

    @Test func storeFailureIsRestyledByTheAppsErrorMiddleware() async throws {
        let store = try OutageStore()
        try await withRestylingApp(store: store) { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await client.send(.GET, "/token", jar: &jar)
            store.mode = .failingEverything

            let response = try await client.send(.GET, "/count", jar: &jar)

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "<p class=\"store\">session store 'failing' unavailable</p>")
            #expect(response.headers[.retryAfter] == ["1"])
        }
    }

    /// Vapor's default `ErrorMiddleware` renders a thrown refusal as its JSON, with SessionKit's status and headers.
    @Test func thrownRefusalUnderVaporsDefaultErrorMiddlewareKeepsStatusAndHeaders() async throws {
        try await withApp(configure: { app in
            app.sessionKit.engine = try SessionEngine(store: try MemoryStore())
            app.middleware.use(app.sessionKit.middleware(throwsErrors: true))
            app.post("count") { req in "\(req.sessionKit.increment("count"))" }
        }) { app in
            let response = try await app.testing().sendRequest(.POST, "/count")

            #expect(response.status == .forbidden)
            #expect(response.headers[.cacheControl] == ["no-store"])
            #expect(try response.json() == .object(["error": .bool(true), "reason": .string("missing CSRF token")]))
        }
    }

    /// Without `throwsErrors` the middleware answers with SessionKit's own response, which `defaultResponse` is.
    @Test func defaultResponseIsWhatTheMiddlewareAnswers() async throws {
        let error = SessionKitVaporError(csrfError: CSRFError(code: .missingToken), acceptHeaders: ["application/json"])
        #expect(error.status == .forbidden)
        #expect(error.defaultResponse.body.string == "{\"error\":\"missing CSRF token\"}")
        #expect(error.defaultResponse.headers[.contentType] == ["application/json; charset=utf-8"])
    }
}
