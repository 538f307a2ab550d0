import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SessionDemoApp
import SessionKit
import SessionKitConformance
import SessionKitHummingbird
import Testing

/// The demo's JSON API end to end, through the router, on every store the demo offers.
@Suite struct DemoAPITests {
    /// The stores the demo can run on.
    enum Store: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case memory
        case file

        var testDescription: String { rawValue }
    }

    /// Runs `body` against the demo's router on a fresh `store`, with a stopped clock.
    private func withDemo(
        _ store: Store,
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let clock = ManualClock()
        let sessionStore: any SessionStore
        var directory: String?
        switch store {
        case .memory:
            sessionStore = try MemoryStore(clock: clock)
        case .file:
            let path = FileManager.default.temporaryDirectory.path + "/sessionkit-demo-tests-\(UUID().uuidString)"
            directory = path
            sessionStore = try FileStore(directory: path, clock: clock)
        }
        defer {
            if let directory { try? FileManager.default.removeItem(atPath: directory) }
        }
        let engine = try SessionEngine(store: sessionStore, clock: clock)
        let app = Application(router: DemoApplication.router(engine: engine))
        try await app.test(.router, body)
    }

    /// Gets a CSRF token from `GET /api/csrf`, starting the session.
    private func csrfToken(_ client: some TestClientProtocol, _ jar: inout CookieJar) async throws -> String {
        let response = try await client.execute("/api/csrf", method: .get, jar: &jar)
        try #require(response.status == .ok)
        return try #require(try response.json().objectValue?["token"]?.stringValue)
    }

    /// Signs in as `user` through the API, with a token from `GET /api/csrf`.
    private func login(_ user: String, _ client: some TestClientProtocol, _ jar: inout CookieJar) async throws {
        let token = try await csrfToken(client, &jar)
        let response = try await client.execute(
            "/api/login",
            method: .post,
            jar: &jar,
            headers: .json(token: token),
            body: #"{"user":"\#(user)"}"#
        )
        try #require(response.status == .ok)
    }

    @Test(arguments: Store.allCases)
    func meIsNullWithoutCookieAndStartsNoSession(_ store: Store) async throws {
        try await withDemo(store) { client in
            let response = try await client.execute(uri: "/api/me", method: .get)

            #expect(response.status == .ok)
            #expect(try response.json() == ["user": nil])
            #expect(response.headers[values: .setCookie].isEmpty)
        }
    }

    @Test(arguments: Store.allCases)
    func csrfStartsSessionWithSessionAndXSRFCookies(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            let response = try await client.execute("/api/csrf", method: .get, jar: &jar)

            #expect(response.status == .ok)
            let token = try #require(try response.json().objectValue?["token"]?.stringValue)
            #expect(token.utf8.count == 86)
            #expect(Set(response.setCookies.map(\.name)) == [sessionCookieName, xsrfCookieName])
            let sessionCookie = try #require(response.setCookies.first { $0.name == sessionCookieName })
            #expect(sessionCookie.attributes.contains("HttpOnly"))
            #expect(sessionCookie.attributes.contains("Secure"))
            #expect(sessionCookie.attributes.contains("SameSite=Lax"))
            #expect(sessionCookie.attributes.contains("Path=/"))

            // The session now exists: reading it again sets nothing.
            let again = try await client.execute("/api/me", method: .get, jar: &jar)
            #expect(try again.json() == ["user": nil])
            #expect(again.headers[values: .setCookie].isEmpty)
        }
    }

    @Test(arguments: Store.allCases)
    func loginShowsUserAndFlashesWelcomeForOneRequest(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)
            let anonymousCookie = try #require(jar[sessionCookieName])

            let login = try await client.execute(
                "/api/login",
                method: .post,
                jar: &jar,
                headers: .json(token: token),
                body: #"{"user":"alice"}"#
            )
            #expect(login.status == .ok)
            #expect(try login.json() == ["ok": true])
            // Login regenerates: the session moves to a new token.
            let signedInCookie = try #require(jar[sessionCookieName])
            #expect(signedInCookie != anonymousCookie)

            let flash = try await client.execute("/api/flash", method: .get, jar: &jar)
            #expect(try flash.json() == ["success": "Welcome, alice"])

            let flashAgain = try await client.execute("/api/flash", method: .get, jar: &jar)
            #expect(try flashAgain.json() == ["success": nil])

            let me = try await client.execute("/api/me", method: .get, jar: &jar)
            #expect(try me.json() == ["user": "alice"])
        }
    }

    @Test(arguments: Store.allCases)
    func flashIsGoneAfterAnyOtherRequest(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            try await login("alice", client, &jar)

            // The request after login (any route) is the one that sees the flash.
            let me = try await client.execute("/api/me", method: .get, jar: &jar)
            #expect(try me.json() == ["user": "alice"])

            let flash = try await client.execute("/api/flash", method: .get, jar: &jar)
            #expect(try flash.json() == ["success": nil])
        }
    }

    @Test(arguments: Store.allCases)
    func logoutForgetsTheUser(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            try await login("alice", client, &jar)
            let token = try await csrfToken(client, &jar)

            let logout = try await client.execute("/api/logout", method: .post, jar: &jar, headers: .json(token: token))
            #expect(logout.status == .ok)
            #expect(try logout.json() == ["ok": true])

            let me = try await client.execute("/api/me", method: .get, jar: &jar)
            #expect(try me.json() == ["user": nil])
        }
    }

    /// Session replay after logout: an attacker who copied the session cookie
    /// (and a CSRF token) before the user signed out must not be signed in with
    /// it afterwards, nor be able to post with it.
    @Test(arguments: Store.allCases)
    func cookieReplayedAfterLogoutIsNoSession(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            try await login("alice", client, &jar)
            let token = try await csrfToken(client, &jar)
            var stolen = jar

            let logout = try await client.execute("/api/logout", method: .post, jar: &jar, headers: .json(token: token))
            try #require(logout.status == .ok)

            let me = try await client.execute("/api/me", method: .get, jar: &stolen)
            #expect(try me.json() == ["user": nil])
            #expect(me.headers[values: .setCookie].allSatisfy { SetCookieLine($0)?.isRemoval ?? false })

            let counter = try await client.execute("/api/counter", method: .post, jar: &stolen, headers: .json(token: token))
            #expect(counter.status == .forbidden)
        }
    }

    @Test(arguments: Store.allCases)
    func counterStartsAtZeroAndPostIncrements(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            let initial = try await client.execute("/api/counter", method: .get, jar: &jar)
            #expect(try initial.json() == ["count": 0])
            #expect(initial.headers[values: .setCookie].isEmpty)

            let token = try await csrfToken(client, &jar)
            let first = try await client.execute("/api/counter", method: .post, jar: &jar, headers: .json(token: token))
            #expect(try first.json() == ["count": 1])
            let second = try await client.execute("/api/counter", method: .post, jar: &jar, headers: .json(token: token))
            #expect(try second.json() == ["count": 2])

            let read = try await client.execute("/api/counter", method: .get, jar: &jar)
            #expect(try read.json() == ["count": 2])
        }
    }

    @Test(arguments: Store.allCases)
    func valuesRoundTripNestedJSONExactly(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)
            let document = #"""
                {"name":"Zoë 🌍 \"quoted\" \\ 日本","int":42,"negative":-7,"big":9007199254740993,\#
                "one":1.0,"pi":3.25,"tiny":1e-300,"flag":true,"none":null,\#
                "nested":{"list":[1,2.5,"x",null,false,{"deep":[[]]}],"empty":{}}}
                """#

            let put = try await client.execute("/api/values/prefs", method: .put, jar: &jar, headers: .json(token: token), body: document)
            #expect(put.status == .ok)

            let get = try await client.execute("/api/values/prefs", method: .get, jar: &jar)
            #expect(get.status == .ok)
            let value = try #require(try get.json().objectValue?["value"])
            #expect(value == (try SessionValue(jsonText: document)))
            #expect(value.objectValue?["one"] == .double(1.0))
            #expect(value.objectValue?["int"] == .int(42))
            #expect(value.objectValue?["big"] == .int(9_007_199_254_740_993))
            #expect(value.objectValue?["name"] == .string("Zoë 🌍 \"quoted\" \\ 日本"))
            // 1.0 is written back as a double, not as the integer 1.
            #expect(get.text.contains(#""one":1.0"#))
        }
    }

    @Test(arguments: Store.allCases)
    func valueOfAnUnknownKeyIsNull(_ store: Store) async throws {
        try await withDemo(store) { client in
            let response = try await client.execute(uri: "/api/values/missing", method: .get)

            #expect(try response.json() == ["value": nil])
        }
    }

    @Test(arguments: Store.allCases)
    func invalidJSONIsBadRequest(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)

            let response = try await client.execute(
                "/api/values/prefs",
                method: .put,
                jar: &jar,
                headers: .json(token: token),
                body: #"{"unterminated": [1, 2"#
            )

            #expect(response.status == .badRequest)
            let get = try await client.execute("/api/values/prefs", method: .get, jar: &jar)
            #expect(try get.json() == ["value": nil])
        }
    }

    @Test(arguments: Store.allCases, [#"{}"#, #"{"user":5}"#, #"{"user":""}"#, #"["alice"]"#, #"user=alice"#])
    func loginWithBadBodyIsBadRequest(_ store: Store, body: String) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)

            let response = try await client.execute("/api/login", method: .post, jar: &jar, headers: .json(token: token), body: body)

            #expect(response.status == .badRequest)
            let me = try await client.execute("/api/me", method: .get, jar: &jar)
            #expect(try me.json() == ["user": nil])
        }
    }
}
