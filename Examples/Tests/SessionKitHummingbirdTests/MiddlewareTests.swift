import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SessionKit
import SessionKitConformance
import SessionKitHummingbird
import Synchronization
import Testing

/// What the tests' routes throw to check that a failed handler commits nothing.
struct HandlerFailure: Error {}

@Suite struct MiddlewareTests {
    /// A router with the middleware and small routes that read, write, echo and fail.
    ///
    /// - `GET /token`: a CSRF token (starts the session).
    /// - `GET /count`: the counter, read only.
    /// - `POST /count`: increments the counter.
    /// - `POST /echo`: increments the counter and returns the request body unchanged.
    /// - `GET /explode`, `POST /explode`: set the counter to 99, then throw.
    /// - `POST /login`: regenerates the session and signs in as `alice`.
    /// - `GET /whoami`: the signed-in user, or `nobody`.
    static func router(engine: SessionEngine) -> Router<BasicSessionKitRequestContext> {
        let router = Router(context: BasicSessionKitRequestContext.self)
        router.add(middleware: SessionKitMiddleware(engine: engine))
        router.get("token") { _, context in
            context.session.csrfToken()
        }
        router.get("count") { _, context in
            "\(context.session.get("count")?.intValue ?? 0)"
        }
        router.get("cached") { _, context -> Response in
            _ = context.session.get("count")
            return Response(status: .ok, headers: [.cacheControl: "no-store", .vary: "Accept-Encoding"])
        }
        router.post("count") { _, context in
            "\(context.session.increment("count"))"
        }
        router.post("echo") { request, context -> Response in
            context.session.increment("count")
            let body = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, body: .init(byteBuffer: body))
        }
        router.get("checked") { request, context -> String in
            context.session.put("count", 99)
            try context.session.validateCSRF(token: request.headers[.csrfToken])
            return "checked"
        }
        router.get("store-fails") { _, context -> String in
            context.session.put("count", 99)
            throw SessionStoreError(code: .unavailable, storeName: "memory", message: "the test made it fail")
        }
        router.get("explode") { _, context -> String in
            context.session.put("count", 99)
            throw HandlerFailure()
        }
        router.post("explode") { _, context -> String in
            context.session.put("count", 99)
            throw HandlerFailure()
        }
        router.post("login") { _, context in
            context.session.regenerate()
            context.session.put("user", "alice")
            return "ok"
        }
        router.get("whoami") { _, context in
            context.session.get("user")?.stringValue ?? "nobody"
        }
        return router
    }

    /// Runs `body` against the test router on `store` (a fresh memory store by default).
    private func withApp(
        store: (any SessionStore)? = nil,
        clock: ManualClock = ManualClock(),
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let store: any SessionStore = try store ?? MemoryStore(clock: clock)
        let engine = try SessionEngine(store: store, clock: clock)
        try await Application(router: Self.router(engine: engine)).test(.router, body)
    }

    /// Starts a session and returns a CSRF token for it.
    private func token(_ client: some TestClientProtocol, _ jar: inout CookieJar) async throws -> String {
        let response = try await client.execute("/token", method: .get, jar: &jar)
        try #require(response.status == .ok)
        try #require(jar[sessionCookieName] != nil)
        return response.text
    }

    /// The counter as the session holds it now.
    private func count(_ client: some TestClientProtocol, _ jar: inout CookieJar) async throws -> String {
        try await client.execute("/count", method: .get, jar: &jar).text
    }

    // MARK: Lazy sessions and cache headers

    @Test func readOnlyRouteWithoutCookieSetsNoCookie() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        try await withApp(store: store, clock: clock) { client in
            let response = try await client.execute(uri: "/count", method: .get)

            #expect(response.status == .ok)
            #expect(response.text == "0")
            #expect(response.headers[values: .setCookie].isEmpty)
            #expect(response.headers[.vary] == nil)
            #expect(store.count == 0)
        }
    }

    @Test func readOnlyRouteOnExistingSessionSetsNoCookie() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)
            try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: token])

            let response = try await client.execute("/count", method: .get, jar: &jar)

            #expect(response.text == "1")
            #expect(response.headers[values: .setCookie].isEmpty)
            // It depends on who asked: no shared cache may hand it to another user (security review, item 5).
            #expect(response.headers[values: .vary] == ["Cookie"])
            #expect(response.headers[values: .cacheControl] == ["private"])
        }
    }

    /// An app's own `Cache-Control` is left alone; `Vary: Cookie` is added to its `Vary`.
    @Test func anAppsOwnCacheControlIsLeftAlone() async throws {
        try await withApp { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.execute("/cached", method: .get, jar: &jar)

            #expect(response.headers[values: .cacheControl] == ["no-store"])
            #expect(response.headers[values: .vary] == ["Accept-Encoding", "Cookie"])
        }
    }

    @Test func setCookieResponsesCarryVaryAndCacheControl() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let response = try await client.execute("/token", method: .get, jar: &jar)

            #expect(!response.headers[values: .setCookie].isEmpty)
            #expect(response.headers[values: .vary] == ["Cookie"])
            #expect(response.headers[values: .cacheControl] == [#"private, no-cache="Set-Cookie""#])
        }
    }

    // MARK: Errors a route throws

    /// A route that checks CSRF by hand (`validateCSRF`) and refuses: 403 with the
    /// automatic check's body, never a 500; the route's write is not committed.
    @Test func aCSRFErrorThrownByARouteIsA403() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let refused = try await client.execute("/checked", method: .get, jar: &jar, headers: [.csrfToken: "forged"])
            let missing = try await client.execute("/checked", method: .get, jar: &jar)
            let passed = try await client.execute("/checked", method: .get, jar: &jar, headers: [.csrfToken: token])

            #expect(refused.status == .forbidden)
            #expect(refused.text == "CSRF token mismatch\n")
            #expect(missing.status == .forbidden)
            #expect(missing.text == "missing CSRF token\n")
            #expect(passed.status == .ok)
        }
    }

    @Test func aSessionStoreErrorThrownByARouteIsA503NamingTheStore() async throws {
        try await withApp { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.execute("/store-fails", method: .get, jar: &jar)

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "session store 'memory' unavailable\n")
            #expect(try await client.execute("/count", method: .get, jar: &jar).text == "0")
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

        var testDescription: String { rawValue }

        /// The header, built around `value`, the real session's cookie value.
        func header(realValue value: String) -> String {
            switch self {
            case .garbage:
                return "=; ;;; \(sessionCookieName)=%00<script>!!==; other=\"; \(sessionCookieName)x=\(value)"
            case .oversized:
                return "\(sessionCookieName)=\(value)\(String(repeating: "A", count: 5 * 1024))"
            case .repeatedName:
                return "\(sessionCookieName)=\(value); \(sessionCookieName)=\(value)"
            case .thousandsOfPairs:
                let pairs = (0..<3_000).map { "c\($0)=v\($0)" }
                return (pairs + ["\(sessionCookieName)=\(SessionToken.generate().cookieValue)"]).joined(separator: "; ")
            }
        }
    }

    /// Malformed, oversized and tossed cookies (a sibling subdomain planting a second
    /// cookie of the same name) must read as no session, never as some session and
    /// never as a server error.
    @Test(arguments: BadCookie.allCases)
    func badCookieIsNoSessionAndNeverAServerError(_ bad: BadCookie) async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)
            try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: token])
            let realValue = try #require(jar[sessionCookieName])

            let response = try await client.execute(
                uri: "/count",
                method: .get,
                headers: [.cookie: bad.header(realValue: realValue)]
            )

            #expect(response.status == .ok)
            #expect(response.text == "0")
            #expect(response.headers[values: .setCookie].isEmpty)
            // The real session is untouched by the bad request.
            #expect(try await count(client, &jar) == "1")
        }
    }

    // MARK: Store outages

    @Test func storeOutageOnLoadIsServiceUnavailable() async throws {
        let clock = ManualClock()
        let store = try OutageStore(clock: clock)
        try await withApp(store: store, clock: clock) { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)
            store.mode = .failingEverything

            let response = try await client.execute("/count", method: .get, jar: &jar)

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "session store 'failing' unavailable\n")
            #expect(response.headers[values: .setCookie].isEmpty)
        }
    }

    @Test func storeOutageOnCommitIsServiceUnavailableAndSavesNothing() async throws {
        let clock = ManualClock()
        let store = try OutageStore(clock: clock)
        try await withApp(store: store, clock: clock) { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)
            store.mode = .failingSaves

            let response = try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: token])

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "session store 'failing' unavailable\n")
            #expect(response.headers[values: .setCookie].isEmpty)
            store.mode = .working
            #expect(try await count(client, &jar) == "0")
        }
    }

    @Test func storeOutageWhenCreatingASessionSetsNoCookie() async throws {
        let clock = ManualClock()
        let store = try OutageStore(clock: clock)
        store.mode = .failingSaves
        try await withApp(store: store, clock: clock) { client in
            let response = try await client.execute(uri: "/token", method: .get)

            #expect(response.status == .serviceUnavailable)
            #expect(response.text == "session store 'failing' unavailable\n")
            #expect(response.headers[values: .setCookie].isEmpty)
            #expect(store.records.count == 0)
        }
    }

    // MARK: Failing handlers

    @Test func handlerThatThrowsCommitsNothingForANewSession() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        try await withApp(store: store, clock: clock) { client in
            let response = try await client.execute(uri: "/explode", method: .get)

            #expect(response.status == .internalServerError)
            #expect(response.headers[values: .setCookie].isEmpty)
            #expect(store.count == 0)
        }
    }

    @Test func handlerThatThrowsCommitsNothingToAnExistingSession() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)
            try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: token])

            let response = try await client.execute("/explode", method: .post, jar: &jar, headers: [.csrfToken: token])

            #expect(response.status == .internalServerError)
            #expect(response.headers[values: .setCookie].isEmpty)
            #expect(try await count(client, &jar) == "1")
        }
    }

    // MARK: CSRF refusals

    @Test func postWithoutTokenIsForbidden() async throws {
        try await withApp { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.execute("/count", method: .post, jar: &jar)

            #expect(response.status == .forbidden)
            #expect(response.text == "missing CSRF token\n")
            #expect(response.headers[.contentType] == "text/plain; charset=utf-8")
        }
    }

    @Test func postWithAnotherSessionsTokenIsForbidden() async throws {
        try await withApp { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)
            var otherJar = CookieJar()
            let otherToken = try await token(client, &otherJar)

            let response = try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: otherToken])

            #expect(response.status == .forbidden)
            #expect(response.text == "CSRF token mismatch\n")
        }
    }

    @Test func postWithMalformedTokenIsForbidden() async throws {
        try await withApp { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: "not-a-token"])

            #expect(response.status == .forbidden)
            #expect(response.text == "CSRF token mismatch\n")
        }
    }

    @Test func refusalIsJSONWhenTheClientAcceptsJSON() async throws {
        try await withApp { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.execute("/count", method: .post, jar: &jar, headers: [.accept: "application/json"])

            #expect(response.status == .forbidden)
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            #expect(try response.json() == ["error": "missing CSRF token"])
        }
    }

    /// Cross-site request forgery from a modern browser: `Sec-Fetch-Site: cross-site`
    /// is refused even when the request carries a valid token.
    @Test func crossSiteFetchIsForbiddenEvenWithAValidToken() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.execute(
                "/count",
                method: .post,
                jar: &jar,
                headers: [.csrfToken: token, .secFetchSite: "cross-site"]
            )

            #expect(response.status == .forbidden)
            #expect(response.text == "cross-origin request refused\n")
            #expect(try await count(client, &jar) == "0")
        }
    }

    /// Cross-site request forgery from a page on another origin: `Origin: http://evil.example`
    /// against `Host: localhost` is refused even when the request carries a valid token.
    @Test func foreignOriginIsForbiddenEvenWithAValidToken() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.execute(
                "/count",
                method: .post,
                jar: &jar,
                headers: [.csrfToken: token, .origin: "http://evil.example"]
            )

            #expect(response.status == .forbidden)
            #expect(response.text == "cross-origin request refused\n")
            #expect(try await count(client, &jar) == "0")
        }
    }

    @Test func sameOriginWithTokenPasses() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.execute(
                "/count",
                method: .post,
                jar: &jar,
                headers: [.csrfToken: token, .origin: "http://localhost", .secFetchSite: "same-origin"]
            )

            #expect(response.status == .ok)
            #expect(response.text == "1")
        }
    }

    @Test func refusedRequestWritesNothing() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)
            try await client.execute("/count", method: .post, jar: &jar, headers: [.csrfToken: token])

            let refused = try await client.execute("/count", method: .post, jar: &jar)

            #expect(refused.status == .forbidden)
            #expect(refused.headers[values: .setCookie].isEmpty)
            #expect(try await count(client, &jar) == "1")
        }
    }

    @Test func refusedRequestWithoutSessionCreatesNone() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        try await withApp(store: store, clock: clock) { client in
            let refused = try await client.execute(uri: "/count", method: .post)

            #expect(refused.status == .forbidden)
            #expect(refused.headers[values: .setCookie].isEmpty)
            #expect(store.count == 0)
        }
    }

    // MARK: Where the token may come from

    @Test func urlEncodedFormTokenPassesAndHandlerReadsTheWholeBody() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)
            let body = "note=hello+w%C3%B6rld&_token=\(token)&tail=" + String(repeating: "x", count: 100_000)

            let response = try await client.execute(
                "/echo",
                method: .post,
                jar: &jar,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: body
            )

            #expect(response.status == .ok)
            #expect(response.text == body)
            #expect(try await count(client, &jar) == "1")
        }
    }

    @Test func multipartFormTokenPasses() async throws {
        try await withApp { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)
            let body = [
                "--XyZzY",
                #"Content-Disposition: form-data; name="note""#,
                "",
                "hello",
                "--XyZzY",
                #"Content-Disposition: form-data; name="_token""#,
                "",
                token,
                "--XyZzY--",
                "",
            ].joined(separator: "\r\n")

            let response = try await client.execute(
                "/echo",
                method: .post,
                jar: &jar,
                headers: [.contentType: "multipart/form-data; boundary=XyZzY"],
                body: body
            )

            #expect(response.status == .ok)
            #expect(response.text == body)
        }
    }

    @Test func urlEncodedFormWithoutTokenIsForbidden() async throws {
        try await withApp { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)

            let response = try await client.execute(
                "/echo",
                method: .post,
                jar: &jar,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: "note=hello&token=nope"
            )

            #expect(response.status == .forbidden)
            #expect(response.text == "missing CSRF token\n")
        }
    }

    @Test func formTooLargeToCheckIsRefusedWithASayingBody() async throws {
        let clock = ManualClock()
        var configuration = SessionEngine.Configuration()
        configuration.csrf.maximumFormBodySize = 1024
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), configuration: configuration, clock: clock)
        try await Application(router: Self.router(engine: engine)).test(.router) { client in
            var jar = CookieJar()
            let token = try await token(client, &jar)

            let response = try await client.execute(
                "/echo",
                method: .post,
                jar: &jar,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: "_token=\(token)&pad=" + String(repeating: "x", count: 2048)
            )

            #expect(response.status == .contentTooLarge)
            #expect(response.text == "form body too large to check the CSRF token\n")
            #expect(response.headers[values: .setCookie].isEmpty)
            #expect(try await count(client, &jar) == "0")
        }
    }

    @Test func xsrfHeaderFromTheXSRFCookiePasses() async throws {
        try await withApp { client in
            var jar = CookieJar()
            _ = try await token(client, &jar)
            let cookieToken = try #require(jar[xsrfCookieName])

            let response = try await client.execute("/count", method: .post, jar: &jar, headers: [.xsrfToken: cookieToken])

            #expect(response.status == .ok)
            #expect(response.text == "1")
        }
    }

    // MARK: Session fixation

    /// Session fixation: an attacker plants a well-formed session cookie that the
    /// server never issued, hoping the victim signs in under it. The server must
    /// never adopt it: the session it starts, and the one it moves to at login,
    /// both have tokens of its own choosing.
    @Test func attackerChosenCookieIsNeverAdopted() async throws {
        try await withApp { client in
            let planted = SessionToken.generate().cookieValue
            var jar = CookieJar()
            jar.set(sessionCookieName, planted)

            let started = try await client.execute("/token", method: .get, jar: &jar)
            let startedCookie = try #require(started.setCookies.first { $0.name == sessionCookieName })
            #expect(startedCookie.value != planted)
            #expect(!startedCookie.isRemoval)

            let login = try await client.execute("/login", method: .post, jar: &jar, headers: [.csrfToken: started.text])
            #expect(login.status == .ok)
            let loginCookie = try #require(login.setCookies.first { $0.name == sessionCookieName })
            #expect(loginCookie.value != planted)
            #expect(loginCookie.value != startedCookie.value)

            // The planted cookie, replayed, is still no session.
            var attacker = CookieJar()
            attacker.set(sessionCookieName, planted)
            #expect(try await client.execute("/whoami", method: .get, jar: &attacker).text == "nobody")
            #expect(try await client.execute("/whoami", method: .get, jar: &jar).text == "alice")
        }
    }
}
