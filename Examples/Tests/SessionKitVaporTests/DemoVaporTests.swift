import Foundation
import SessionDemoSupport
import SessionDemoVaporApp
import SessionKit
import SessionKitConformance
import Testing
import Vapor
import VaporTesting

/// `session-demo-vapor`'s routes through VaporTesting. The full API is checked
/// against both demos by `scripts/e2e-test`; these cover the Vapor-only translation.
@Suite struct DemoVaporTests {
    /// Runs `body` against the demo's routes on a fresh memory store.
    private func withDemo(_ body: (any TestingApplicationTester) async throws -> Void) async throws {
        let clock = ManualClock()
        var configuration = SessionEngine.Configuration()
        configuration.metadata.recordsUserAgent = true
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), configuration: configuration, clock: clock)
        try await withApp(configure: { app in
            DemoVaporApplication.routes(app, engine: engine)
        }) { app in
            try await body(try app.testing())
        }
    }

    private func csrfToken(_ client: some TestingApplicationTester, _ jar: inout CookieJar) async throws -> String {
        let response = try await client.send(.GET, "/api/csrf", jar: &jar)
        try #require(response.status == .ok)
        return try #require(try response.json().objectValue?["token"]?.stringValue)
    }

    private func login(
        _ user: String,
        _ client: some TestingApplicationTester,
        _ jar: inout CookieJar,
        userAgent: String? = nil
    ) async throws {
        var headers = HTTPHeaders.json(token: try await csrfToken(client, &jar))
        if let userAgent { headers.add(name: .userAgent, value: userAgent) }
        let response = try await client.send(.POST, "/api/login", jar: &jar, headers: headers, body: #"{"user":"\#(user)"}"#)
        try #require(response.status == .ok)
    }

    /// `GET /api/sessions` for the jar's user: each session's members.
    private func sessions(_ client: some TestingApplicationTester, _ jar: inout CookieJar) async throws -> [[String: SessionValue]] {
        let response = try await client.send(.GET, "/api/sessions", jar: &jar)
        try #require(response.status == .ok)
        let list = try #require(try response.json().objectValue?["sessions"]?.arrayValue)
        return try list.map { try #require($0.objectValue) }
    }

    private func ownHandle(_ client: some TestingApplicationTester, _ jar: inout CookieJar) async throws -> String {
        try #require(try await sessions(client, &jar).first { $0["current"] == true }?["handle"]?.stringValue)
    }

    @Test func meIsNullWithoutCookieAndStartsNoSession() async throws {
        try await withDemo { client in
            let response = try await client.sendRequest(.GET, "/api/me")

            #expect(response.status == .ok)
            #expect(response.text == #"{"user":null}"#)
            #expect(response.headers[.contentType] == ["application/json; charset=utf-8"])
            #expect(response.headers[.setCookie].isEmpty)
        }
    }

    @Test func loginThenFlashOnceThenMe() async throws {
        try await withDemo { client in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)

            let login = try await client.send(.POST, "/api/login", jar: &jar, headers: .json(token: token), body: #"{"user":"alice"}"#)
            #expect(login.status == .ok)
            #expect(login.text == #"{"ok":true}"#)
            #expect(try await client.send(.GET, "/api/flash", jar: &jar).text == #"{"success":"Welcome, alice"}"#)
            #expect(try await client.send(.GET, "/api/flash", jar: &jar).text == #"{"success":null}"#)
            #expect(try await client.send(.GET, "/api/me", jar: &jar).text == #"{"user":"alice"}"#)
        }
    }

    @Test func valuesRoundTripKeepingDoublesApartFromIntegers() async throws {
        try await withDemo { client in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)
            let document = #"{"one":1.0,"int":1,"list":[1,2.5,null]}"#

            let put = try await client.send(.PUT, "/api/values/prefs", jar: &jar, headers: .json(token: token), body: document)
            #expect(put.status == .ok)
            let get = try await client.send(.GET, "/api/values/prefs", jar: &jar)

            #expect(try get.json() == ["value": try SessionValue(jsonText: document)])
            #expect(get.text.contains(#""one":1.0"#))
        }
    }

    @Test func invalidJSONIsBadRequestWithAJSONBody() async throws {
        try await withDemo { client in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)

            let response = try await client.send(.PUT, "/api/values/prefs", jar: &jar, headers: .json(token: token), body: #"{"a": [1"#)

            #expect(response.status == .badRequest)
            let message = try #require(try response.json().objectValue?["error"]?.stringValue)
            #expect(message.hasPrefix("request body is not valid JSON: "))
        }
    }

    /// Vapor's own default (16 KB for collected routes) does not apply: the demo's 64 KiB limit does.
    @Test(arguments: [(DemoRoutes.maximumBodySize, HTTPStatus.ok), (DemoRoutes.maximumBodySize + 1, .payloadTooLarge)])
    func bodyLimitIsTheDemos(size: Int, status: HTTPStatus) async throws {
        try await withDemo { client in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)
            let body = "\"" + String(repeating: "x", count: size - 2) + "\""

            let response = try await client.send(.PUT, "/api/values/big", jar: &jar, headers: .json(token: token), body: body)

            #expect(response.status == status)
        }
    }

    @Test func htmlFormLoginRedirectsAndShowsTheUser() async throws {
        try await withDemo { client in
            var jar = CookieJar()
            let page = try await client.send(.GET, "/", jar: &jar)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == ["text/html; charset=utf-8"])
            let marker = #"name="_token" value=""#
            let start = try #require(page.text.range(of: marker))
            let token = String(page.text[start.upperBound...].prefix { $0 != "\"" })

            let login = try await client.send(
                .POST,
                "/login",
                jar: &jar,
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: "_token=\(token)&user=Bob+Smith"
            )

            #expect(login.status == .seeOther)
            #expect(login.headers[.location] == ["/"])
            let after = try await client.send(.GET, "/", jar: &jar)
            #expect(after.text.contains("Signed in as <strong>Bob Smith</strong>"))
            #expect(after.text.contains("Welcome, Bob Smith"))
        }
    }

    // MARK: Log out other devices

    @Test func sessionsListsBothDevicesAndMarksThisOne() async throws {
        try await withDemo { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            try await login("alice", client, &laptop, userAgent: "Laptop/1.0")
            try await login("alice", client, &phone, userAgent: "Phone/2.0")

            let response = try await client.send(.GET, "/api/sessions", jar: &laptop)

            #expect(response.headers[.contentType] == ["application/json; charset=utf-8"])
            let list = try await sessions(client, &laptop)
            #expect(list.count == 2)
            #expect(list.filter { $0["current"] == true }.map { $0["userAgent"] } == ["Laptop/1.0"])
            #expect(Set(list.compactMap { $0["userAgent"]?.stringValue }) == ["Laptop/1.0", "Phone/2.0"])
            #expect(list.allSatisfy { $0["createdAt"] == "2023-11-14T22:13:20Z" && $0["lastSeenAt"] == "2023-11-14T22:13:20Z" })
        }
    }

    /// Vapor routes `DELETE` like the others: the handle from the path revokes the other device.
    @Test func deleteRevokesTheOtherDevice() async throws {
        try await withDemo { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            try await login("alice", client, &laptop)
            try await login("alice", client, &phone)
            let handle = try await ownHandle(client, &phone)
            let token = try await csrfToken(client, &laptop)

            let response = try await client.send(.DELETE, "/api/sessions/\(handle)", jar: &laptop, headers: .json(token: token))

            #expect(response.status == .ok)
            #expect(response.text == #"{"ok":true}"#)
            #expect(try await client.send(.GET, "/api/me", jar: &phone).text == #"{"user":null}"#)
            #expect(try await client.send(.GET, "/api/me", jar: &laptop).text == #"{"user":"alice"}"#)
            #expect(try await sessions(client, &laptop).count == 1)
        }
    }

    @Test func revokeOthersKeepsThisDeviceAndOtherUsers() async throws {
        try await withDemo { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            var bob = CookieJar()
            try await login("alice", client, &laptop)
            try await login("alice", client, &phone)
            try await login("bob", client, &bob)
            let token = try await csrfToken(client, &laptop)

            let response = try await client.send(.POST, "/api/sessions/revoke-others", jar: &laptop, headers: .json(token: token))

            #expect(try response.json() == ["ok": true, "revoked": 1])
            #expect(try await client.send(.GET, "/api/me", jar: &phone).text == #"{"user":null}"#)
            #expect(try await client.send(.GET, "/api/me", jar: &laptop).text == #"{"user":"alice"}"#)
            #expect(try await client.send(.GET, "/api/me", jar: &bob).text == #"{"user":"bob"}"#)
        }
    }

    /// Insecure direct object reference: another user's handle signs nobody out.
    @Test func anotherUsersHandleIsNotFound() async throws {
        try await withDemo { client in
            var alice = CookieJar()
            var bob = CookieJar()
            try await login("alice", client, &alice)
            try await login("bob", client, &bob)
            let bobsHandle = try await ownHandle(client, &bob)
            let token = try await csrfToken(client, &alice)

            let response = try await client.send(.DELETE, "/api/sessions/\(bobsHandle)", jar: &alice, headers: .json(token: token))

            #expect(response.status == .notFound)
            #expect(response.text == #"{"error":"no such session"}"#)
            #expect(try await client.send(.GET, "/api/me", jar: &bob).text == #"{"user":"bob"}"#)
        }
    }

    @Test func sessionRoutesNeedASignedInUser() async throws {
        try await withDemo { client in
            let list = try await client.sendRequest(.GET, "/api/sessions")
            #expect(list.status == .unauthorized)
            #expect(list.text == #"{"error":"not signed in"}"#)

            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)
            let delete = try await client.send(.DELETE, "/api/sessions/AAAAAAAAAAAAAAAAAAAAAA", jar: &jar, headers: .json(token: token))
            #expect(delete.status == .unauthorized)
            let others = try await client.send(.POST, "/api/sessions/revoke-others", jar: &jar, headers: .json(token: token))
            #expect(others.status == .unauthorized)
        }
    }

    @Test func sessionsPageFormSignsTheOtherDeviceOut() async throws {
        try await withDemo { client in
            var laptop = CookieJar()
            var phone = CookieJar()
            try await login("alice", client, &laptop, userAgent: "Laptop/1.0")
            try await login("alice", client, &phone, userAgent: "Phone/2.0")
            let handle = try await ownHandle(client, &phone)

            let page = try await client.send(.GET, "/sessions", jar: &laptop)
            #expect(page.status == .ok)
            #expect(page.text.contains(#"<tr class="session" data-handle="\#(handle)"><td class="device">Phone/2.0</td>"#))
            #expect(page.text.contains(#"<tr class="session current" data-handle=""#))
            let marker = #"name="_token" value=""#
            let start = try #require(page.text.range(of: marker))
            let token = String(page.text[start.upperBound...].prefix { $0 != "\"" })

            let revoke = try await client.send(
                .POST,
                "/sessions/revoke",
                jar: &laptop,
                headers: ["Content-Type": "application/x-www-form-urlencoded"],
                body: "_token=\(token)&handle=\(handle)"
            )

            #expect(revoke.status == .seeOther)
            #expect(revoke.headers[.location] == ["/sessions"])
            #expect(try await client.send(.GET, "/api/me", jar: &phone).text == #"{"user":null}"#)
        }
    }
}
