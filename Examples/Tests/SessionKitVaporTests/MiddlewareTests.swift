import Foundation
import SessionKit
import SessionKitConformance
import SessionKitVapor
import Testing
import Vapor
import VaporTesting

/// What the tests' routes throw to check that a failed handler commits nothing.
struct HandlerFailure: Error {}

@Suite struct MiddlewareTests {
    /// Small routes that read, write, echo and fail.
    ///
    /// - `GET /token`: a CSRF token (starts the session).
    /// - `GET /count`: the counter, read only.
    /// - `POST /count`: increments the counter.
    /// - `POST /echo`: increments the counter and returns `req.body.data` unchanged (a collecting route).
    /// - `POST /echo-stream`: the same on a `.stream` route that reads the body as an async sequence.
    /// - `GET /explode`, `POST /explode`: set the counter to 99, then throw.
    /// - `POST /login`: regenerates the session, signs in as `alice` and flashes a welcome.
    /// - `GET /whoami`: the signed-in user, or `nobody`.
    /// - `GET /flash`: the `success` flash, or `none`.
    static func routes(_ app: Application) {
        app.get("token") { req in
            req.sessionKit.csrfToken()
        }
        app.get("count") { req in
            "\(req.sessionKit.get("count")?.intValue ?? 0)"
        }
        app.get("cached") { req -> Response in
            _ = req.sessionKit.get("count")
            let response = Response(status: .ok)
            response.headers.replaceOrAdd(name: .cacheControl, value: "no-store")
            response.headers.replaceOrAdd(name: .vary, value: "Accept-Encoding")
            return response
        }
        app.post("count") { req in
            "\(req.sessionKit.increment("count"))"
        }
        app.on(.POST, "echo", body: .collect(maxSize: "1mb")) { req -> Response in
            req.sessionKit.increment("count")
            return Response(status: .ok, body: .init(buffer: req.body.data ?? ByteBuffer()))
        }
        app.on(.POST, "echo-stream", body: .stream) { req async throws -> Response in
            req.sessionKit.increment("count")
            var body = ByteBuffer()
            for try await var chunk in req.body {
                body.writeBuffer(&chunk)
            }
            return Response(status: .ok, body: .init(buffer: body))
        }
        app.get("checked") { req -> String in
            req.sessionKit.put("count", 99)
            try req.sessionKit.validateCSRF(token: req.headers.first(name: "X-CSRF-Token"))
            return "checked"
        }
        app.get("store-fails") { req -> String in
            req.sessionKit.put("count", 99)
            throw SessionStoreError(code: .unavailable, storeName: "memory", message: "the test made it fail")
        }
        app.get("explode") { req -> String in
            req.sessionKit.put("count", 99)
            throw HandlerFailure()
        }
        app.post("explode") { req -> String in
            req.sessionKit.put("count", 99)
            throw HandlerFailure()
        }
        app.post("login") { req in
            req.sessionKit.regenerate()
            req.sessionKit.put("user", "alice")
            req.sessionKit.flash("success", "Welcome, alice")
            return "ok"
        }
        app.get("whoami") { req in
            req.sessionKit.get("user")?.stringValue ?? "nobody"
        }
        app.get("flash") { req in
            req.sessionKit.getFlash("success")?.stringValue ?? "none"
        }
    }

    /// Runs `body` with an app on `store` (a fresh memory store by default), the middleware and ``routes(_:)``.
    func withSessionApp(
        store: (any SessionStore)? = nil,
        clock: ManualClock = ManualClock(),
        configuration: SessionEngine.Configuration = .init(),
        _ body: (Application) async throws -> Void
    ) async throws {
        let store: any SessionStore = try store ?? MemoryStore(clock: clock)
        let engine = try SessionEngine(store: store, configuration: configuration, clock: clock)
        try await withApp(configure: { app in
            app.sessionKit.engine = engine
            app.middleware.use(app.sessionKit.middleware)
            Self.routes(app)
        }) { app in
            try await body(app)
        }
    }

    /// Starts a session and returns a CSRF token for it.
    func token(_ client: some TestingApplicationTester, _ jar: inout CookieJar) async throws -> String {
        let response = try await client.send(.GET, "/token", jar: &jar)
        try #require(response.status == .ok)
        try #require(jar[sessionCookieName] != nil)
        return response.text
    }

    /// The counter as the session holds it now.
    func count(_ client: some TestingApplicationTester, _ jar: inout CookieJar) async throws -> String {
        try await client.send(.GET, "/count", jar: &jar).text
    }

    // MARK: Lazy sessions and cache headers

    @Test func readOnlyRouteWithoutCookieStartsNoSession() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        try await withSessionApp(store: store, clock: clock) { app in
            var jar = CookieJar()
            let response = try await app.testing().send(.GET, "/count", jar: &jar)

            #expect(response.status == .ok)
            #expect(response.text == "0")
            #expect(response.headers[.setCookie].isEmpty)
            #expect(store.count == 0)
        }
    }

    @Test func firstWriteStartsTheSessionWithBothCookies() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        try await withSessionApp(store: store, clock: clock) { app in
            var jar = CookieJar()
            let response = try await app.testing().send(.GET, "/token", jar: &jar)

            #expect(response.status == .ok)
            #expect(Set(response.setCookies.map(\.name)) == [sessionCookieName, xsrfCookieName])
            let sessionCookie = try #require(response.setCookies.first { $0.name == sessionCookieName })
            #expect(sessionCookie.attributes.contains("HttpOnly"))
            #expect(sessionCookie.attributes.contains("Secure"))
            #expect(sessionCookie.attributes.contains("SameSite=Lax"))
            #expect(response.headers[.vary] == ["Cookie"])
            #expect(response.headers[.cacheControl] == [#"private, no-cache="Set-Cookie""#])
            #expect(store.count == 1)
        }
    }

    /// A read of a stored session sets no cookie, but its response depends on
    /// who asked: a shared cache must not hand it to another user (security
    /// review, item 5).
    @Test func readOnlyRouteOnExistingSessionSetsNoCookieAndIsPrivate() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.send(.GET, "/count", jar: &jar)

            #expect(response.status == .ok)
            #expect(response.headers[.setCookie].isEmpty)
            #expect(response.headers[.vary] == ["Cookie"])
            #expect(response.headers[.cacheControl] == ["private"])
        }
    }

    /// An app's own `Cache-Control` is left alone; `Vary: Cookie` is added to its `Vary`.
    @Test func anAppsOwnCacheControlIsLeftAlone() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.send(.GET, "/cached", jar: &jar)

            #expect(response.headers[.cacheControl] == ["no-store"])
            #expect(response.headers[.vary] == ["Accept-Encoding", "Cookie"])
        }
    }

    // MARK: Errors a route throws

    /// A route that checks CSRF by hand (`validateCSRF`) and refuses: 403 with the
    /// automatic check's body, never a 500; the route's write is not committed.
    @Test func aCSRFErrorThrownByARouteIsA403() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let refused = try await client.send(.GET, "/checked", jar: &jar, headers: ["X-CSRF-Token": "forged"])
            let missing = try await client.send(.GET, "/checked", jar: &jar)
            let passed = try await client.send(.GET, "/checked", jar: &jar, headers: ["X-CSRF-Token": token])

            #expect(refused.status == .forbidden)
            #expect(refused.text == "CSRF token mismatch\n")
            #expect(missing.status == .forbidden)
            #expect(missing.text == "missing CSRF token\n")
            #expect(passed.status == .ok)
        }
    }

    @Test func aSessionStoreErrorThrownByARouteIsA503NamingTheStore() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.send(.GET, "/store-fails", jar: &jar)

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "session store 'memory' unavailable\n")
            #expect(try await client.send(.GET, "/count", jar: &jar).text == "0")
        }
    }

    // MARK: Flash and regenerate

    @Test func flashIsSeenByTheNextRequestOnly() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let login = try await client.send(.POST, "/login", jar: &jar, headers: ["X-CSRF-Token": token])
            #expect(login.status == .ok)
            let next = try await client.send(.GET, "/flash", jar: &jar)
            #expect(next.text == "Welcome, alice")
            let after = try await client.send(.GET, "/flash", jar: &jar)
            #expect(after.text == "none")
            #expect(try await client.send(.GET, "/whoami", jar: &jar).text == "alice")
        }
    }

    /// Session fixation: after login the session lives under a new token, and the
    /// token from before login (which an attacker may have planted or seen) is dead.
    @Test func regenerateMovesTheSessionAndKillsTheOldCookie() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)
            var before = jar
            let oldCookie = try #require(jar[sessionCookieName])

            let login = try await client.send(.POST, "/login", jar: &jar, headers: ["X-CSRF-Token": token])

            #expect(login.status == .ok)
            let newCookie = try #require(jar[sessionCookieName])
            #expect(newCookie != oldCookie)
            #expect(try await client.send(.GET, "/whoami", jar: &jar).text == "alice")
            #expect(try await client.send(.GET, "/whoami", jar: &before).text == "nobody")
            // Regenerating rotates the CSRF secret too: the token from before login no longer passes.
            let stale = try await client.send(.POST, "/count", jar: &jar, headers: ["X-CSRF-Token": token])
            #expect(stale.status == .forbidden)
        }
    }

    // MARK: Failing handlers

    @Test func handlerThatThrowsCommitsNothing() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        try await withSessionApp(store: store, clock: clock) { app in
            let client = try app.testing()
            let fresh = try await client.sendRequest(.GET, "/explode")
            #expect(fresh.status == .internalServerError)
            #expect(fresh.headers[.setCookie].isEmpty)
            #expect(store.count == 0)

            var jar = CookieJar()
            let token = try await token(client, &jar)
            let existing = try await client.send(.POST, "/explode", jar: &jar, headers: ["X-CSRF-Token": token])
            #expect(existing.status == .internalServerError)
            #expect(try await count(client, &jar) == "0")
        }
    }

    // MARK: Bad cookies

    /// Cookie headers a client may send that must read as no session.
    enum BadCookie: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// Not a token: wrong alphabet and length, with broken pairs around it.
        case garbage
        /// A 5 KB value that starts with a real token.
        case oversized
        /// The real session cookie, sent twice (cookie tossing).
        case repeatedName
        /// 3,000 other cookies and a never-issued token.
        case thousandsOfPairs
        /// The real session cookie split over two `Cookie` lines, and repeated by that.
        case repeatedOverTwoLines

        var testDescription: String { rawValue }

        /// The `Cookie` lines, built around `value`, the real session's cookie value.
        func lines(realValue value: String) -> [String] {
            switch self {
            case .garbage:
                return ["=; ;;; \(sessionCookieName)=%00<script>!!==; other=\"; \(sessionCookieName)x=\(value)"]
            case .oversized:
                return ["\(sessionCookieName)=\(value)\(String(repeating: "A", count: 5 * 1024))"]
            case .repeatedName:
                return ["\(sessionCookieName)=\(value); \(sessionCookieName)=\(value)"]
            case .thousandsOfPairs:
                let pairs = (0..<3_000).map { "c\($0)=v\($0)" }
                return [(pairs + ["\(sessionCookieName)=\(SessionToken.generate().cookieValue)"]).joined(separator: "; ")]
            case .repeatedOverTwoLines:
                return ["\(sessionCookieName)=\(value)", "\(sessionCookieName)=\(value)"]
            }
        }
    }

    /// Malformed, oversized and tossed cookies (a sibling subdomain planting a second
    /// cookie of the same name) must read as no session, never as some session and
    /// never as a server error.
    @Test(arguments: BadCookie.allCases)
    func badCookieIsNoSessionAndNeverAServerError(_ bad: BadCookie) async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)
            try await client.send(.POST, "/count", jar: &jar, headers: ["X-CSRF-Token": token])
            let realValue = try #require(jar[sessionCookieName])

            var headers = HTTPHeaders()
            for line in bad.lines(realValue: realValue) { headers.add(name: .cookie, value: line) }
            let response = try await client.sendRequest(.GET, "/count", headers: headers)

            #expect(response.status == .ok)
            #expect(response.text == "0")
            #expect(response.headers[.setCookie].isEmpty)
            // The real session is untouched by the bad request.
            #expect(try await count(client, &jar) == "1")
        }
    }

    /// A cookie split over several `Cookie` lines (as HTTP/2 clients send it) is read as one header.
    @Test func cookieLinesAreJoined() async throws {
        try await withSessionApp { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)
            try await client.send(.POST, "/count", jar: &jar, headers: ["X-CSRF-Token": token])
            let realValue = try #require(jar[sessionCookieName])

            let headers = HTTPHeaders([("Cookie", "theme=dark"), ("Cookie", "\(sessionCookieName)=\(realValue)")])
            let response = try await client.sendRequest(.GET, "/count", headers: headers)

            #expect(response.text == "1")
        }
    }

    // MARK: Store outages

    @Test func storeOutageOnLoadIsServiceUnavailableNamingTheStore() async throws {
        let clock = ManualClock()
        let store = try OutageStore(clock: clock)
        try await withSessionApp(store: store, clock: clock) { app in
            let client = try app.testing()
            var jar = CookieJar()
            _ = try await token(client, &jar)
            store.mode = .failingEverything

            let response = try await client.send(.GET, "/count", jar: &jar)

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "session store 'failing' unavailable\n")
            #expect(response.headers[.retryAfter] == ["1"])
            #expect(response.headers[.cacheControl] == ["no-store"])
            #expect(response.headers[.setCookie].isEmpty)
        }
    }

    @Test func storeOutageOnCommitIsServiceUnavailableAndSavesNothing() async throws {
        let clock = ManualClock()
        let store = try OutageStore(clock: clock)
        try await withSessionApp(store: store, clock: clock) { app in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await token(client, &jar)
            store.mode = .failingSaves

            let response = try await client.send(.POST, "/count", jar: &jar, headers: ["X-CSRF-Token": token])

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "session store 'failing' unavailable\n")
            #expect(response.headers[.setCookie].isEmpty)
            store.mode = .working
            #expect(try await count(client, &jar) == "0")
        }
    }

    @Test func storeOutageWhenCreatingASessionSetsNoCookie() async throws {
        let clock = ManualClock()
        let store = try OutageStore(clock: clock)
        store.mode = .failingSaves
        try await withSessionApp(store: store, clock: clock) { app in
            let response = try await app.testing().sendRequest(.GET, "/token")

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "session store 'failing' unavailable\n")
            #expect(response.headers[.setCookie].isEmpty)
            #expect(store.records.count == 0)
        }
    }
}

extension MiddlewareTests {
    /// With metadata recording on, the session list shows the client's user agent and address.
    @Test func clientDetailsAreRecordedWhenConfigured() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        var configuration = SessionEngine.Configuration()
        configuration.metadata = .init(recordsUserAgent: true, recordsIPAddress: true)
        let engine = try SessionEngine(store: store, configuration: configuration, clock: clock)
        try await withApp(configure: { app in
            app.sessionKit.engine = engine
            app.middleware.use(app.sessionKit.middleware)
            app.get("token") { req in req.sessionKit.csrfToken() }
            app.post("login") { req in
                req.sessionKit.regenerate(owner: "alice")
                return "ok"
            }
        }) { app in
            let client = try app.testing(method: .running(hostname: "127.0.0.1", port: 0))
            var jar = CookieJar()
            let token = try await client.send(.GET, "/token", jar: &jar, headers: ["User-Agent": "TestBrowser/1.0"]).text
            let login = try await client.send(.POST, "/login", jar: &jar, headers: ["X-CSRF-Token": token, "User-Agent": "TestBrowser/1.0"])
            try #require(login.status == .ok)

            let sessions = try await engine.sessions(of: "alice")

            #expect(sessions.count == 1)
            #expect(sessions.first?.userAgent == "TestBrowser/1.0")
            #expect(sessions.first?.ipAddress == "127.0.0.1")
        }
    }
}
