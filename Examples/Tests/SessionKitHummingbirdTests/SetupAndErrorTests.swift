import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SessionKit
import SessionKitConformance
import SessionKitHummingbird
import Testing

/// `SessionKitService` (engine and store in one service) and SessionKit's errors
/// through the app's own error handling.
@Suite struct SetupAndErrorTests {
    /// A middleware of the app's own, added before SessionKit's: SessionKit's errors in the app's style.
    struct RestyledSessionErrors<Context: RequestContext>: RouterMiddleware {
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            do {
                return try await next(request, context)
            } catch let error as SessionKitHTTPError {
                let kind = error.csrfError != nil ? "csrf" : "store"
                let reason = error.csrfError?.message ?? error.storeError?.responseMessage ?? ""
                return Response(
                    status: error.status,
                    headers: [.contentType: "text/html; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: "<p class=\"\(kind)\">\(reason)</p>"))
                )
            }
        }
    }

    private static func router(engine: SessionEngine) -> Router<BasicSessionKitRequestContext> {
        let router = Router(context: BasicSessionKitRequestContext.self)
        router.add(middleware: RestyledSessionErrors())
        router.add(middleware: SessionKitMiddleware(engine: engine))
        router.get("token") { _, context in context.session.csrfToken() }
        router.get("count") { _, context in "\(context.session.get("count")?.intValue ?? 0)" }
        router.post("echo") { request, context -> Response in
            context.session.increment("count")
            return Response(status: .ok, body: .init(byteBuffer: try await request.body.collect(upTo: 1 << 20)))
        }
        return router
    }

    @Test func csrfRefusalIsRestyledByTheAppsMiddleware() async throws {
        let engine = try SessionEngine(store: try MemoryStore())
        try await Application(router: Self.router(engine: engine)).test(.router) { client in
            let response = try await client.execute(uri: "/echo", method: .post)

            #expect(response.status == .forbidden)
            #expect(response.text == "<p class=\"csrf\">missing CSRF token</p>")
            #expect(response.headers[values: .setCookie].isEmpty)
        }
    }

    @Test func oversizedFormIsRestyledByTheAppsMiddleware() async throws {
        var configuration = SessionEngine.Configuration()
        configuration.csrf.maximumFormBodySize = 1024
        let engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
        try await Application(router: Self.router(engine: engine)).test(.router) { client in
            var jar = CookieJar()
            let token = try await client.execute("/token", method: .get, jar: &jar).text

            let response = try await client.execute(
                "/echo",
                method: .post,
                jar: &jar,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: "_token=\(token)&pad=" + String(repeating: "x", count: 2048)
            )

            #expect(response.status == .contentTooLarge)
            #expect(response.text == "<p class=\"csrf\">form body too large to check the CSRF token</p>")
            #expect(try await client.execute("/count", method: .get, jar: &jar).text == "0")
        }
    }

    @Test func storeFailureIsRestyledByTheAppsMiddleware() async throws {
        let store = try OutageStore()
        let engine = try SessionEngine(store: store)
        try await Application(router: Self.router(engine: engine)).test(.router) { client in
            var jar = CookieJar()
            _ = try await client.execute("/token", method: .get, jar: &jar)
            store.mode = .failingEverything

            let response = try await client.execute("/count", method: .get, jar: &jar)

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "<p class=\"store\">session store 'failing' unavailable</p>")
        }
    }

    /// Without a middleware of the app's own, Hummingbird renders the thrown error as SessionKit's own response.
    @Test func thrownErrorRendersAsSessionKitsOwnResponse() async throws {
        let engine = try SessionEngine(store: try MemoryStore())
        let router = Router(context: BasicSessionKitRequestContext.self)
        router.add(middleware: SessionKitMiddleware(engine: engine))
        router.post("count") { _, context in "\(context.session.increment("count"))" }
        try await Application(router: router).test(.router) { client in
            let response = try await client.execute(uri: "/count", method: .post, headers: [.accept: "application/json"])

            #expect(response.status == .forbidden)
            #expect(response.text == #"{"error":"missing CSRF token"}"#)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            #expect(response.headers[.cacheControl] == "no-store")
        }
    }

    // MARK: SessionKitService

    /// One service runs the store's work; the app lists nothing else for sessions.
    @Test(arguments: ["memory", "cookie"])
    func appWithTheServiceServesSessions(_ kind: String) async throws {
        let driver: SessionStoreDriver = kind == "memory" ? .memory : .cookie(keys: [try CookieStore.Key.generate(id: "k1")])
        let sessions = try await SessionKitService(driver)
        #expect(sessions.hasBackgroundWork == (kind == "memory"))
        let router = Router(context: BasicSessionKitRequestContext.self)
        router.add(middleware: sessions.middleware())
        router.get("token") { _, context in context.session.csrfToken() }
        router.post("count") { _, context in "\(context.session.increment("count"))" }

        try await Application(router: router, services: [sessions]).test(.live) { client in
            var jar = CookieJar()
            let token = try await client.execute("/token", method: .get, jar: &jar).text
            let first = try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: token])
            let second = try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: token])

            #expect(first.text == "1")
            #expect(second.text == "2")
        }
        #expect(sessions.engine.storeName == kind)
    }

    @Test func badDriverSettingFailsTheServiceNamingTheSetting() async throws {
        let error = await #expect(throws: SessionConfigurationError.self) {
            _ = try await SessionKitService(.memory(configuration: .init(maximumSessions: 0)))
        }
        #expect(error?.setting == "MemoryStore.maximumSessions")
    }
}
