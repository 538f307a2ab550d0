// snippet.hide
#if Vapor
import Foundation
import SessionKitVapor
import Vapor

/// Stands in for the app's user model and lookup.
struct User: Authenticatable {
    var id: String
    var name: String
}
func findUser(id: String, on request: Request) async throws -> User? { nil }
func verifyPassword(_ request: Request) async throws -> User { User(id: "42", name: "alice") }

let app = try await Application.make(.testing)
// snippet.show
// snippet.sideBySide
// Vapor's sessions stay on the routes that still use req.session; their cookies differ.
app.sessions.use(.memory)
let legacy = app.grouped(app.sessions.middleware)

let store = try MemoryStore()
app.sessionKit.engine = try SessionEngine(store: store)
app.lifecycle.use(SessionStoreLifecycleHandler(run: store.run))
let moved = app.grouped(app.sessionKit.middleware)

legacy.get("old-cart") { req in req.session.data["cart"] ?? "empty" }
moved.get("cart") { req in req.sessionKit.get("cart")?.stringValue ?? "empty" }
// snippet.end

// snippet.authenticator
/// Logs the user in on req.auth from the id that login put in the SessionKit session.
struct UserSessionAuthenticator: AsyncRequestAuthenticator {
    func authenticate(request: Request) async throws {
        guard let id = request.sessionKit.owner, let user = try await findUser(id: id, on: request) else { return }
        request.auth.login(user)
    }
}

moved.post("login") { req in
    let user = try await verifyPassword(req)  // yours
    req.sessionKit.regenerate(owner: user.id)  // a new id (no fixation), bound to the user
    return "ok"
}
moved.post("logout") { req in
    req.sessionKit.invalidate()  // req.auth.logout(User.self) alone would keep the session
    return "ok"
}
let signedIn = moved.grouped(UserSessionAuthenticator(), User.guardMiddleware())
signedIn.get("me") { req in try req.auth.require(User.self).name }
// snippet.end
// snippet.hide
try await app.asyncShutdown()
#endif
