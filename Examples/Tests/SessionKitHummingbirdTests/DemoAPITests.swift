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
        try await withDemo(engine: try SessionEngine(store: sessionStore, configuration: Self.configuration, clock: clock), body)
    }

    /// Runs `body` against the demo's router on `engine`.
    private func withDemo(
        engine: SessionEngine,
        _ body: @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let app = Application(router: DemoApplication.router(engine: engine))
        try await app.test(.router, body)
    }

    /// The engine settings of the demo: the defaults, recording the user agent for "Your sessions".
    private static var configuration: SessionEngine.Configuration {
        var configuration = SessionEngine.Configuration()
        configuration.metadata.recordsUserAgent = true
        return configuration
    }

    /// Gets a CSRF token from `GET /api/csrf`, starting the session.
    private func csrfToken(_ client: some TestClientProtocol, _ jar: inout CookieJar) async throws -> String {
        let response = try await client.execute("/api/csrf", method: .get, jar: &jar)
        try #require(response.status == .ok)
        return try #require(try response.json().objectValue?["token"]?.stringValue)
    }

    /// Signs in as `user` through the API, with a token from `GET /api/csrf`.
    private func login(
        _ user: String,
        _ client: some TestClientProtocol,
        _ jar: inout CookieJar,
        userAgent: String? = nil
    ) async throws {
        let token = try await csrfToken(client, &jar)
        var headers = HTTPFields.json(token: token)
        if let userAgent { headers[.userAgent] = userAgent }
        let response = try await client.execute("/api/login", method: .post, jar: &jar, headers: headers, body: #"{"user":"\#(user)"}"#)
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

// MARK: - Log out other devices

extension DemoAPITests {
    /// `GET /api/sessions` for the jar's user: each session's members.
    private func sessions(_ client: some TestClientProtocol, _ jar: inout CookieJar) async throws -> [[String: SessionValue]] {
        let response = try await client.execute("/api/sessions", method: .get, jar: &jar)
        try #require(response.status == .ok)
        let list = try #require(try response.json().objectValue?["sessions"]?.arrayValue)
        return try list.map { try #require($0.objectValue) }
    }

    /// The handle of the jar's own session, from its list.
    private func ownHandle(_ client: some TestClientProtocol, _ jar: inout CookieJar) async throws -> String {
        let list = try await sessions(client, &jar)
        return try #require(list.first { $0["current"] == true }?["handle"]?.stringValue)
    }

    @Test(arguments: Store.allCases)
    func sessionsListsEveryDeviceOfTheUserAndMarksThisOne(_ store: Store) async throws {
        try await withDemo(store) { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            var bob = CookieJar()
            try await login("alice", client, &laptop, userAgent: "Laptop/1.0")
            try await login("alice", client, &phone, userAgent: "Phone/2.0")
            try await login("bob", client, &bob, userAgent: "Bob/1.0")

            let list = try await sessions(client, &laptop)

            #expect(list.count == 2)
            #expect(Set(list.map { Set($0.keys) }) == [["handle", "current", "createdAt", "lastSeenAt", "userAgent"]])
            #expect(list.filter { $0["current"] == true }.map { $0["userAgent"] } == ["Laptop/1.0"])
            #expect(Set(list.compactMap { $0["userAgent"]?.stringValue }) == ["Laptop/1.0", "Phone/2.0"])
            // The manual clock stands at 1,700,000,000 s: ISO 8601 in UTC.
            #expect(list.allSatisfy { $0["createdAt"] == "2023-11-14T22:13:20Z" && $0["lastSeenAt"] == "2023-11-14T22:13:20Z" })
            // Handles are opaque: neither cookie's token appears in the list.
            let text = try await client.execute("/api/sessions", method: .get, jar: &laptop).text
            #expect(!text.contains(try #require(laptop[sessionCookieName])))
            #expect(!text.contains(try #require(phone[sessionCookieName])))
        }
    }

    @Test(arguments: Store.allCases)
    func revokingAnotherDeviceSignsItOut(_ store: Store) async throws {
        try await withDemo(store) { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            try await login("alice", client, &laptop)
            try await login("alice", client, &phone)
            let phoneHandle = try await ownHandle(client, &phone)
            let token = try await csrfToken(client, &laptop)

            let response = try await client.execute("/api/sessions/\(phoneHandle)", method: .delete, jar: &laptop, headers: .json(token: token))

            #expect(response.status == .ok)
            #expect(try response.json() == ["ok": true])
            let phoneMe = try await client.execute("/api/me", method: .get, jar: &phone)
            #expect(try phoneMe.json() == ["user": nil])
            let laptopMe = try await client.execute("/api/me", method: .get, jar: &laptop)
            #expect(try laptopMe.json() == ["user": "alice"])
            let list = try await sessions(client, &laptop)
            #expect(list.count == 1)
            #expect(list.first?["current"] == true)
        }
    }

    @Test(arguments: Store.allCases)
    func revokingThisDevicesOwnHandleSignsItOut(_ store: Store) async throws {
        try await withDemo(store) { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            try await login("alice", client, &laptop)
            try await login("alice", client, &phone)
            let handle = try await ownHandle(client, &laptop)
            let token = try await csrfToken(client, &laptop)

            let response = try await client.execute("/api/sessions/\(handle)", method: .delete, jar: &laptop, headers: .json(token: token))

            #expect(try response.json() == ["ok": true])
            let laptopMe = try await client.execute("/api/me", method: .get, jar: &laptop)
            #expect(try laptopMe.json() == ["user": nil])
            let phoneMe = try await client.execute("/api/me", method: .get, jar: &phone)
            #expect(try phoneMe.json() == ["user": "alice"])
        }
    }

    @Test(arguments: Store.allCases)
    func revokeOthersSignsOutEveryOtherDeviceOfTheUserOnly(_ store: Store) async throws {
        try await withDemo(store) { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            var tablet = CookieJar()
            var bob = CookieJar()
            try await login("alice", client, &laptop)
            try await login("alice", client, &phone)
            try await login("alice", client, &tablet)
            try await login("bob", client, &bob)
            let token = try await csrfToken(client, &laptop)

            let response = try await client.execute("/api/sessions/revoke-others", method: .post, jar: &laptop, headers: .json(token: token))

            #expect(response.status == .ok)
            #expect(try response.json() == ["ok": true, "revoked": 2])
            for var jar in [phone, tablet] {
                let me = try await client.execute("/api/me", method: .get, jar: &jar)
                #expect(try me.json() == ["user": nil])
            }
            #expect(try await client.execute("/api/me", method: .get, jar: &laptop).json() == ["user": "alice"])
            #expect(try await client.execute("/api/me", method: .get, jar: &bob).json() == ["user": "bob"])
            #expect(try await sessions(client, &laptop).count == 1)
        }
    }

    /// Insecure direct object reference: a handle of another user's session
    /// (seen, say, over their shoulder) must not sign them out.
    @Test(arguments: Store.allCases)
    func anotherUsersHandleIsNotFound(_ store: Store) async throws {
        try await withDemo(store) { client in
            var alice = CookieJar()
            var bob = CookieJar()
            try await login("alice", client, &alice)
            try await login("bob", client, &bob)
            let bobsHandle = try await ownHandle(client, &bob)
            let token = try await csrfToken(client, &alice)

            let response = try await client.execute("/api/sessions/\(bobsHandle)", method: .delete, jar: &alice, headers: .json(token: token))

            #expect(response.status == .notFound)
            #expect(try response.json() == ["error": "no such session"])
            #expect(try await client.execute("/api/me", method: .get, jar: &bob).json() == ["user": "bob"])
            let unknown = try await client.execute("/api/sessions/AAAAAAAAAAAAAAAAAAAAAA", method: .delete, jar: &alice, headers: .json(token: token))
            #expect(unknown.status == .notFound)
        }
    }

    @Test(arguments: Store.allCases)
    func sessionRoutesNeedASignedInUser(_ store: Store) async throws {
        try await withDemo(store) { client in
            let list = try await client.execute(uri: "/api/sessions", method: .get)
            #expect(list.status == .unauthorized)
            #expect(try list.json() == ["error": "not signed in"])

            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)
            let revokeOthers = try await client.execute("/api/sessions/revoke-others", method: .post, jar: &jar, headers: .json(token: token))
            #expect(revokeOthers.status == .unauthorized)
            let delete = try await client.execute("/api/sessions/AAAAAAAAAAAAAAAAAAAAAA", method: .delete, jar: &jar, headers: .json(token: token))
            #expect(delete.status == .unauthorized)
            #expect(try delete.json() == ["error": "not signed in"])
        }
    }

    @Test(arguments: Store.allCases)
    func signingOutRemovesTheSessionFromTheList(_ store: Store) async throws {
        try await withDemo(store) { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            try await login("alice", client, &laptop)
            try await login("alice", client, &phone)
            let token = try await csrfToken(client, &phone)

            try #require(try await client.execute("/api/logout", method: .post, jar: &phone, headers: .json(token: token)).status == .ok)

            let list = try await sessions(client, &laptop)
            #expect(list.count == 1)
            #expect(list.first?["current"] == true)
        }
    }

    /// Cross-site request forgery: `DELETE` and the revoke-others `POST` are
    /// unsafe, so a request without the token revokes nothing.
    @Test(arguments: Store.allCases)
    func revokingWithoutACSRFTokenIsForbidden(_ store: Store) async throws {
        try await withDemo(store) { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            try await login("alice", client, &laptop)
            try await login("alice", client, &phone)
            let phoneHandle = try await ownHandle(client, &phone)

            let delete = try await client.execute("/api/sessions/\(phoneHandle)", method: .delete, jar: &laptop)
            let others = try await client.execute("/api/sessions/revoke-others", method: .post, jar: &laptop)

            #expect(delete.status == .forbidden)
            #expect(others.status == .forbidden)
            #expect(try await client.execute("/api/me", method: .get, jar: &phone).json() == ["user": "alice"])
        }
    }

    /// The cookie store keeps no list of sessions: the routes say so instead of pretending there is one.
    @Test func cookieStoreAnswersNotImplemented() async throws {
        let keys = try CookieStore(keys: [.generate(id: "k1")])
        try await withDemo(engine: try SessionEngine(cookieStore: keys, configuration: Self.configuration, clock: ManualClock())) { client in
            var jar = CookieJar()
            try await login("alice", client, &jar)

            let list = try await client.execute("/api/sessions", method: .get, jar: &jar)
            #expect(list.status == .notImplemented)
            let message = try #require(try list.json().objectValue?["error"]?.stringValue)
            #expect(message.contains("cookie store keeps no list of sessions"))

            let token = try await csrfToken(client, &jar)
            let others = try await client.execute("/api/sessions/revoke-others", method: .post, jar: &jar, headers: .json(token: token))
            #expect(others.status == .notImplemented)
            let page = try await client.execute("/sessions", method: .get, jar: &jar)
            #expect(page.status == .notImplemented)
            #expect(page.text.contains(#"id="sessions-unsupported""#))
        }
    }

    @Test(arguments: Store.allCases)
    func sessionsPageListsDevicesAndItsFormSignsOneOut(_ store: Store) async throws {
        try await withDemo(store) { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            try await login("alice", client, &laptop, userAgent: "Laptop/1.0")
            try await login("alice", client, &phone, userAgent: "Phone/<2.0>")
            let phoneHandle = try await ownHandle(client, &phone)

            let home = try await client.execute("/", method: .get, jar: &laptop)
            #expect(home.text.contains(#"<a href="/sessions" id="sessions-link">"#))
            let page = try await client.execute("/sessions", method: .get, jar: &laptop)

            #expect(page.status == .ok)
            #expect(page.text.contains(#"<table id="sessions-table">"#))
            #expect(page.text.components(separatedBy: #"<tr class="session"#).count == 3)
            #expect(page.text.contains(#"<tr class="session" data-handle="\#(phoneHandle)"><td class="device">Phone/&lt;2.0&gt;</td>"#))
            #expect(page.text.contains(#"<tr class="session current" data-handle=""#))
            #expect(page.text.contains("(this device)"))
            #expect(page.text.contains(#"<button id="revoke-others">"#))

            let marker = #"name="_token" value=""#
            let start = try #require(page.text.range(of: marker))
            let token = String(page.text[start.upperBound...].prefix { $0 != "\"" })
            let revoke = try await client.execute(
                "/sessions/revoke",
                method: .post,
                jar: &laptop,
                headers: [.contentType: "application/x-www-form-urlencoded"],
                body: "_token=\(token)&handle=\(phoneHandle)"
            )

            #expect(revoke.status == .seeOther)
            #expect(revoke.headers[.location] == "/sessions")
            #expect(try await client.execute("/api/me", method: .get, jar: &phone).json() == ["user": nil])
            let after = try await client.execute("/sessions", method: .get, jar: &laptop)
            #expect(after.text.contains("That device is signed out."))
            #expect(after.text.components(separatedBy: #"<tr class="session"#).count == 2)
        }
    }

    @Test(arguments: Store.allCases)
    func sessionsPageWithoutAUserRedirectsHome(_ store: Store) async throws {
        try await withDemo(store) { client in
            var jar = CookieJar()
            let page = try await client.execute("/sessions", method: .get, jar: &jar)

            #expect(page.status == .seeOther)
            #expect(page.headers[.location] == "/")
            let home = try await client.execute("/", method: .get, jar: &jar)
            #expect(home.text.contains("Sign in to see your sessions."))
        }
    }
}
