// snippet.hide
#if Vapor
import Foundation
import SessionKitVapor
import Vapor

/// Stands in for the app's user database and password check.
enum Users {
    static func find(id: String) async throws -> User? { id == "42" ? User(id: "42", name: "alice") : nil }
}
func verifyPassword(_ request: Request) async throws -> User { User(id: "42", name: "alice") }

let app = try await Application.make(.testing)
// snippet.show
// snippet.user
/// Vapor's own protocol: the session is bound to `sessionID`.
struct User: SessionAuthenticatable, Content {
    var id: String
    var name: String
    var sessionID: String { id }
}
// snippet.end

// snippet.routes
try await app.sessionKit.use(.memory)
app.middleware.use(app.sessionKit.middleware)
let signedIn = app.grouped(User.sessionKitAuthenticator { id, _ in try await Users.find(id: id) })

signedIn.post("login") { req -> HTTPStatus in
    req.auth.login(try await verifyPassword(req))  // then: a new session id, bound to the user
    return .noContent
}
signedIn.get("me") { req in try req.auth.require(User.self).name }
signedIn.post("logout") { req -> HTTPStatus in
    req.auth.logout(User.self)  // then: the session is invalidated
    return .noContent
}
// snippet.end

// snippet.protocol
/// The same lookup as a type, written as for Vapor's AsyncSessionAuthenticator.
struct UserSessionAuthenticator: AsyncSessionKitAuthenticator {
    typealias User = SigningInVapor.User
    func authenticate(sessionID: String, for request: Request) async throws {
        if let user = try await Users.find(id: sessionID) { request.auth.login(user) }
    }
}
let protected = app.grouped(UserSessionAuthenticator(), User.guardMiddleware())
// snippet.end
// snippet.hide
protected.get("account") { req in try req.auth.require(User.self).name }
try await app.asyncShutdown()
#endif
