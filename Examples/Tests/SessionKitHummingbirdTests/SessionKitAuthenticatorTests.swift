import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdTesting
import SessionKit
import SessionKitConformance
import SessionKitHummingbird
import SessionKitHummingbirdAuth
import Synchronization
import Testing

/// `SessionKitAuthenticator`: HummingbirdAuth's `context.identity` from the
/// SessionKit session's owner, with `context.login(_:)` and `context.logout()`.
@Suite struct SessionKitAuthenticatorTests {
    struct User: Sendable {
        var id: Int
        var name: String
    }

    /// The app's users, as a `UserSessionRepository` keyed by `Int`; a test removes one
    /// to see a session outlive its user.
    final class Directory: UserSessionRepository {
        private let users = Mutex<[Int: User]>([42: User(id: 42, name: "alice"), 7: User(id: 7, name: "bob")])
        /// How many times the authenticator looked a user up.
        let lookups = Mutex(0)

        func getUser(from id: Int, context: UserRepositoryContext) async throws -> User? {
            lookups.withLock { $0 += 1 }
            return users.withLock { $0[id] }
        }

        func remove(_ id: Int) {
            _ = users.withLock { $0.removeValue(forKey: id) }
        }
    }

    typealias Context = BasicSessionKitAuthRequestContext<User>

    /// Routes behind the SessionKit middleware and the authenticator.
    ///
    /// - `GET /csrf`: a CSRF token (starts the session).
    /// - `POST /login?id=`: `context.login(id)` and a flash.
    /// - `POST /bind?owner=`: binds the session to any owner, as another part of an app might.
    /// - `POST /logout`: `context.logout()` and a flash.
    /// - `GET /me`: `context.requireIdentity().name`, `401` without a user.
    /// - `GET /flash`: the `success` flash, or `none`.
    private func withAuthApp(
        closure: Bool = false,
        _ body: @Sendable (any TestClientProtocol, SessionEngine, Directory) async throws -> Void
    ) async throws {
        let directory = Directory()
        let clock = ManualClock()
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), clock: clock)
        let router = Router(context: Context.self)
        router.add(middleware: SessionKitMiddleware(engine: engine))
        if closure {
            router.add(
                middleware: SessionKitAuthenticator(context: Context.self) { (id: Int, context) in
                    try await directory.getUser(from: id, context: context)
                }
            )
        } else {
            router.add(middleware: SessionKitAuthenticator(users: directory, context: Context.self))
        }
        router.get("csrf") { _, context in context.session.csrfToken() }
        router.post("login") { request, context -> HTTPResponse.Status in
            guard let id = request.uri.queryParameters.get("id", as: Int.self) else { return .badRequest }
            context.login(id)
            context.session.flash("success", "Welcome")
            return .noContent
        }
        router.post("bind") { request, context -> HTTPResponse.Status in
            context.session.regenerate(owner: request.uri.queryParameters.get("owner") ?? "")
            return .noContent
        }
        router.post("logout") { _, context -> HTTPResponse.Status in
            context.logout()
            context.session.flash("success", "You are signed out.")
            return .noContent
        }
        router.get("me") { _, context in try context.requireIdentity().name }
        router.get("flash") { _, context in context.session.getFlash("success")?.stringValue ?? "none" }
        try await Application(router: router).test(.router) { client in
            try await body(client, engine, directory)
        }
    }

    private func csrfToken(_ client: some TestClientProtocol, _ jar: inout CookieJar) async throws -> String {
        let response = try await client.execute("/csrf", method: .get, jar: &jar)
        try #require(response.status == .ok)
        return response.text
    }

    private func post(_ path: String, _ client: some TestClientProtocol, _ jar: inout CookieJar) async throws -> HTTPResponse.Status {
        let token = try await csrfToken(client, &jar)
        return try await client.execute(path, method: .post, jar: &jar, headers: [.csrfToken: token]).status
    }

    @Test(arguments: [false, true])
    func loginMakesTheUserTheIdentityOfTheNextRequest(closure: Bool) async throws {
        try await withAuthApp(closure: closure) { (client, _, _) async throws in
            var jar = CookieJar()
            #expect(try await client.execute("/me", method: .get, jar: &jar).status == .unauthorized)

            #expect(try await post("/login?id=42", client, &jar) == .noContent)

            // What the sign-in handler wrote is kept with the new token.
            #expect(try await client.execute("/flash", method: .get, jar: &jar).text == "Welcome")
            let me = try await client.execute("/me", method: .get, jar: &jar)
            #expect(me.status == .ok)
            #expect(me.text == "alice")
        }
    }

    @Test func loginBindsTheSessionToTheUser() async throws {
        try await withAuthApp { (client, engine, _) async throws in
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)

            #expect(try await engine.sessions(of: "42").count == 1)
        }
    }

    /// Session fixation: a token planted before sign-in must not be signed in after.
    @Test func loginGivesANewTokenAndTheOldOneIsNotSignedIn() async throws {
        try await withAuthApp { (client, _, _) async throws in
            var jar = CookieJar()
            let token = try await csrfToken(client, &jar)
            let planted = try #require(jar[sessionCookieName])

            let login = try await client.execute("/login?id=42", method: .post, jar: &jar, headers: [.csrfToken: token])
            #expect(login.status == .noContent)

            #expect(jar[sessionCookieName] != planted)
            var attacker = CookieJar()
            attacker.set(sessionCookieName, planted)
            #expect(try await client.execute("/me", method: .get, jar: &attacker).status == .unauthorized)
        }
    }

    @Test func logoutSignsOutAndTheOldCookieStaysSignedOut() async throws {
        try await withAuthApp { (client, engine, _) async throws in
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)
            let signedIn = try #require(jar[sessionCookieName])

            #expect(try await post("/logout", client, &jar) == .noContent)

            // The flash written after logout() is in the fresh, signed-out session.
            #expect(try await client.execute("/flash", method: .get, jar: &jar).text == "You are signed out.")
            #expect(try await client.execute("/me", method: .get, jar: &jar).status == .unauthorized)
            var replay = CookieJar()
            replay.set(sessionCookieName, signedIn)
            #expect(try await client.execute("/me", method: .get, jar: &replay).status == .unauthorized)
            #expect(try await engine.sessions(of: "42").isEmpty)
        }
    }

    @Test func revokedSessionNoLongerAuthenticates() async throws {
        try await withAuthApp { (client, engine, _) async throws in
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)
            #expect(try await client.execute("/me", method: .get, jar: &jar).status == .ok)

            #expect(try await engine.revokeSessions(of: "42") == 1)

            #expect(try await client.execute("/me", method: .get, jar: &jar).status == .unauthorized)
        }
    }

    /// A user deleted while signed in: no identity, `401` rather than `500`.
    @Test func ownerWhoseUserIsGoneIsNotAuthenticated() async throws {
        try await withAuthApp { (client, _, directory) async throws in
            var jar = CookieJar()
            #expect(try await post("/login?id=42", client, &jar) == .noContent)

            directory.remove(42)

            #expect(try await client.execute("/me", method: .get, jar: &jar).status == .unauthorized)
        }
    }

    /// An owner the repository's `Identifier` cannot read is no user, and the repository is not asked.
    @Test func ownerThatIsNoIdentifierIsNotAuthenticated() async throws {
        try await withAuthApp { (client, _, directory) async throws in
            var jar = CookieJar()
            #expect(try await post("/bind?owner=alice", client, &jar) == .noContent)
            let before = directory.lookups.withLock { $0 }

            #expect(try await client.execute("/me", method: .get, jar: &jar).status == .unauthorized)
            #expect(directory.lookups.withLock { $0 } == before)
        }
    }

    @Test(arguments: ["garbage", String(repeating: "A", count: 43), "", String(repeating: "x", count: 5000)])
    func garbageCookieIsNoUser(cookie: String) async throws {
        try await withAuthApp { (client, _, directory) async throws in
            var jar = CookieJar()
            jar.set(sessionCookieName, cookie)

            #expect(try await client.execute("/me", method: .get, jar: &jar).status == .unauthorized)
            #expect(directory.lookups.withLock { $0 } == 0)
        }
    }
}
