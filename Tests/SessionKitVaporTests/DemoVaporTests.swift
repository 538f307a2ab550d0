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
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), clock: clock)
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
}
