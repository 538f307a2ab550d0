import SessionKit
import SessionKitVapor
import Testing
import Vapor
import VaporTesting

/// The migration article's app (`MigratedVaporApp.swift`, a link to the snippet the
/// article shows), run as it is: `configure(_:)` and its routes, over VaporTesting.
@Suite struct MigratedVaporAppTests {
    private func loginToken(_ client: some TestingApplicationTester, _ jar: inout CookieJar) async throws -> String {
        let response = try await client.send(.GET, "/login", jar: &jar)
        try #require(response.status == .ok)
        return response.text
    }

    @Test func migratedAppSignsInAndOutOnReqAuth() async throws {
        try await withApp { app in
            try await configure(app)
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)

            let token = try await loginToken(client, &jar)
            let planted = try #require(jar[sessionCookieName])
            let login = try await client.send(
                .POST, "/login", jar: &jar, headers: .json(token: token), body: #"{"name":"alice","password":"secret"}"#
            )
            #expect(login.status == .noContent)
            #expect(jar[sessionCookieName] != planted)

            let me = try await client.send(.GET, "/me", jar: &jar)
            #expect(me.status == .ok)
            #expect(me.text == "alice")
            #expect(try await app.sessionKit.engine.sessions(of: "42").count == 1)
            // The cookie from before sign-in is not signed in (session fixation).
            var attacker = CookieJar()
            attacker.set(sessionCookieName, planted)
            #expect(try await client.send(.GET, "/me", jar: &attacker).status == .unauthorized)

            let logoutToken = try await loginToken(client, &jar)
            #expect(try await client.send(.POST, "/logout", jar: &jar, headers: .json(token: logoutToken)).status == .noContent)
            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)
            #expect(try await app.sessionKit.engine.sessions(of: "42").isEmpty)
        }
    }

    @Test func migratedAppRefusesAWrongPasswordAndBindsNothing() async throws {
        try await withApp { app in
            try await configure(app)
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await loginToken(client, &jar)

            let login = try await client.send(
                .POST, "/login", jar: &jar, headers: .json(token: token), body: #"{"name":"alice","password":"guess"}"#
            )

            #expect(login.status == .unauthorized)
            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)
            #expect(try await app.sessionKit.engine.sessions(of: "42").isEmpty)
        }
    }
}
