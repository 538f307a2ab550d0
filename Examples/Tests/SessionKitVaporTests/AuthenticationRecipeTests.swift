import SessionKit
import SessionKitConformance
import SessionKitVapor
import Testing
import Vapor
import VaporTesting

/// The README's replacement for Vapor's `SessionAuthenticatable`: the user's id
/// in the SessionKit session, and a request authenticator that logs the user in
/// on `req.auth` from it.
@Suite struct AuthenticationRecipeTests {
    struct User: Authenticatable, Content {
        var id: String
        var name: String
    }

    /// Looks the user up from the id kept in the session; does nothing without one.
    struct UserSessionAuthenticator: AsyncRequestAuthenticator {
        let users: [String: User]

        func authenticate(request: Request) async throws {
            guard let id = request.sessionKit.get("userID")?.stringValue, let user = users[id] else { return }
            request.auth.login(user)
        }
    }

    @Test func userLoggedInThroughTheSessionIsOnReqAuth() async throws {
        let users = ["42": User(id: "42", name: "alice")]
        try await withApp { app in
            var configuration = SessionEngine.Configuration()
            configuration.cookie.isSecure = false
            app.sessionKit.engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
            app.middleware.use(app.sessionKit.middleware)
            let authenticated = app.grouped(UserSessionAuthenticator(users: users))
            app.get("csrf") { req in req.sessionKit.csrfToken() }
            app.post("login") { req -> HTTPStatus in
                req.sessionKit.regenerate()
                req.sessionKit.put("userID", "42")
                return .noContent
            }
            app.post("logout") { req -> HTTPStatus in
                req.sessionKit.invalidate()
                return .noContent
            }
            authenticated.get("me") { req -> String in
                try req.auth.require(User.self).name
            }

            let client = try app.testing()
            var jar = CookieJar()
            let token = try await client.send(.GET, "/csrf", jar: &jar).text
            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)
            #expect(try await client.send(.POST, "/login", jar: &jar, headers: ["X-CSRF-Token": token]).status == .noContent)
            let me = try await client.send(.GET, "/me", jar: &jar)
            #expect(me.status == .ok)
            #expect(me.text == "alice")
            let newToken = try await client.send(.GET, "/csrf", jar: &jar).text
            #expect(try await client.send(.POST, "/logout", jar: &jar, headers: ["X-CSRF-Token": newToken]).status == .noContent)
            #expect(try await client.send(.GET, "/me", jar: &jar).status == .unauthorized)
        }
    }
}
