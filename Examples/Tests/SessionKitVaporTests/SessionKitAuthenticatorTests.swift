import Foundation
import SessionKit
import SessionKitConformance
import SessionKitVapor
import Synchronization
import Testing
import Vapor
import VaporTesting

/// `AsyncSessionKitAuthenticator`: Vapor's `req.auth` signed in and out through
/// the SessionKit session.
@Suite struct SessionKitAuthenticatorTests {
    struct User: SessionAuthenticatable {
        var id: String
        var name: String
        var sessionID: String { id }
    }

    /// The app's users; a test removes one to see a session outlive its user.
    final class Directory: Sendable {
        private let users = Mutex<[String: User]>([
            "42": User(id: "42", name: "alice"),
            "7": User(id: "7", name: "bob"),
        ])
        /// How many times the authenticator looked a user up.
        let lookups = Mutex(0)

        func find(_ id: String) -> User? {
            lookups.withLock { $0 += 1 }
            return users.withLock { $0[id] }
        }

        func remove(_ id: String) {
            _ = users.withLock { $0.removeValue(forKey: id) }
        }
    }

    /// The app's authenticator, written as for Vapor's `AsyncSessionAuthenticator`.
    struct UserSessionAuthenticator: AsyncSessionKitAuthenticator {
        typealias User = SessionKitAuthenticatorTests.User
        let directory: Directory

        func authenticate(sessionID: String, for request: Request) async throws {
            if let user = directory.find(sessionID) { request.auth.login(user) }
        }
    }

    /// Routes behind the SessionKit middleware and the authenticator.
    ///
    /// - `GET /csrf`: a CSRF token (starts the session).
    /// - `POST /login?id=`: `req.auth.login` of that user, and a flash.
    /// - `POST /logout`: `req.auth.logout(User.self)` only.
    /// - `POST /end`: `req.sessionKit.invalidate()` only; the user stays on `req.auth`.
    /// - `GET /me`: `req.auth.require(User.self).name`, `401` without a user.
    /// - `GET /flash`: the `success` flash, or `none`.
    /// - `GET /plain`: touches nothing.
    private func withAuthApp(
        closure: Bool = false,
        _ body: @Sendable (Application, SessionEngine, Directory) async throws -> Void
    ) async throws {
        let directory = Directory()
        let clock = ManualClock()
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), clock: clock)
        try await withApp { app in
            app.sessionKit.engine = engine
            app.middleware.use(app.sessionKit.middleware)
            let signedIn =
                closure
                ? app.grouped(User.sessionKitAuthenticator { id, _ in directory.find(id) })
                : app.grouped(UserSessionAuthenticator(directory: directory))
            signedIn.get("csrf") { req in req.sessionKit.csrfToken() }
            signedIn.post("login") { req -> HTTPStatus in
                guard let user = directory.find(try req.query.get(String.self, at: "id")) else { return .notFound }
                req.auth.login(user)
                req.sessionKit.flash("success", .string("Welcome, \(user.name)"))
                return .noContent
            }
            signedIn.post("logout") { req -> HTTPStatus in
                req.auth.logout(User.self)
                return .noContent
            }
            signedIn.post("end") { req -> HTTPStatus in
                req.sessionKit.invalidate()
                return .noContent
            }
            signedIn.get("me") { req in try req.auth.require(User.self).name }
            signedIn.get("flash") { req in req.sessionKit.getFlash("success")?.stringValue ?? "none" }
            signedIn.get("plain") { _ in "plain" }
            try await body(app, engine, directory)
        }
    }

    private func csrfToken(_ client: some TestingApplicationTester, _ jar: inout CookieJar) async throws -> String {
        let response = try await client.send(.GET, "/csrf", jar: &jar)
        try #require(response.status == .ok)
        return response.text
    }

    private func post(_ path: String, _ client: some TestingApplicationTester, _ jar: inout CookieJar) async throws -> HTTPStatus {
        let token = try await csrfToken(client, &jar)
        return try await client.send(.POST, path, jar: &jar, headers: ["X-CSRF-Token": token]).status
    }

    @Test(arguments: [false, true])
    func loginOnReqAuthIsTheUserOfTheNextRequest(closure: Bool) async throws {
        try await withAuthApp(closure: closure) { (app, _, _) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)

            #expect(try await post("/login?id=42", client, &jar) == .noContent)

            // What the sign-in handler wrote is kept with the new token.
            #expect(try await client.send(.GET, "/flash", jar: &jar).text == "Welcome, alice")
            let me = try await client.send(.GET, "/me", jar: &jar)
            #expect(me.status == .ok)
            #expect(me.text == "alice")
        }
    }

    @Test func loginBindsTheSessionToTheUser() async throws {
        try await withAuthApp { (app, engine, _) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)

            let sessions = try await engine.sessions(of: "42")
            #expect(sessions.count == 1)
        }
    }

    /// Session fixation: a token planted before sign-in must not be signed in after.
    @Test func loginGivesANewTokenAndTheOldOneIsNotSignedIn() async throws {
        try await withAuthApp { (app, _, _) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)
            let planted = try #require(jar[sessionCookieName])

            #expect(try await client.send(.POST, "/login?id=42", jar: &jar, headers: ["X-CSRF-Token": token]).status == .noContent)

            #expect(jar[sessionCookieName] != planted)
            var attacker = CookieJar()
            attacker.set(sessionCookieName, planted)
            #expect(try await client.send(.GET, "/me", jar: &attacker).status == .unauthorized)
        }
    }

    @Test func reqAuthLogoutSignsOutAndTheOldCookieStaysSignedOut() async throws {
        try await withAuthApp { (app, engine, _) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)
            let signedIn = try #require(jar[sessionCookieName])

            #expect(try await post("/logout", client, &jar) == .noContent)

            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)
            var replay = CookieJar()
            replay.set(sessionCookieName, signedIn)
            #expect(try await client.send(.GET, "/me", jar: &replay).status == .unauthorized)
            #expect(try await engine.sessions(of: "42").isEmpty)
        }
    }

    /// The session's end signs out, even though the handler left the user on `req.auth`.
    @Test func invalidatingTheSessionSignsOut() async throws {
        try await withAuthApp { (app, engine, _) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)

            #expect(try await post("/end", client, &jar) == .noContent)

            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)
            #expect(try await engine.sessions(of: "42").isEmpty)
        }
    }

    @Test func revokedSessionNoLongerAuthenticates() async throws {
        try await withAuthApp { (app, engine, _) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)
            #expect(try await client.send(.GET, "/me", jar: &jar).status == .ok)

            #expect(try await engine.revokeSessions(of: "42") == 1)

            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)
        }
    }

    @Test func loginAsAnotherUserRebindsTheSession() async throws {
        try await withAuthApp { (app, engine, _) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)
            let alice = try #require(jar[sessionCookieName])

            #expect(try await post("/login?id=7", client, &jar) == .noContent)

            #expect(jar[sessionCookieName] != alice)
            #expect(try await client.send(.GET, "/me", jar: &jar).text == "bob")
            #expect(try await engine.sessions(of: "42").isEmpty)
            #expect(try await engine.sessions(of: "7").count == 1)
        }
    }

    /// A user deleted while signed in: no user, no `500`, and the session is signed out.
    @Test func ownerWhoseUserIsGoneIsNotAuthenticated() async throws {
        try await withAuthApp { (app, engine, directory) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)

            directory.remove("42")

            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)
            let plain = try await client.send(.GET, "/plain", jar: &jar)
            #expect(plain.status == .ok)
            #expect(try await engine.sessions(of: "42").isEmpty)
        }
    }

    @Test(arguments: ["garbage", String(repeating: "A", count: 43), "", String(repeating: "x", count: 5000)])
    func garbageCookieIsNoUser(cookie: String) async throws {
        try await withAuthApp { (app, _, directory) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            jar.set(sessionCookieName, cookie)

            let me = try await client.send(.GET, "/me", jar: &jar)

            #expect(me.status == .unauthorized)
            #expect(directory.lookups.withLock { $0 } == 0)
        }
    }

    /// A signed-in request that changes nothing writes nothing: the authenticator only reads.
    @Test func signedInRequestThatChangesNothingSetsNoCookie() async throws {
        try await withAuthApp { (app, _, _) async throws in
            let client = try app.testing()
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)
            // The first request after sign-in ages the welcome flash, which is a write.
            #expect(try await client.send(.GET, "/plain", jar: &jar).status == .ok)

            let plain = try await client.send(.GET, "/plain", jar: &jar)

            #expect(plain.status == .ok)
            #expect(plain.setCookies.isEmpty)
        }
    }
}
