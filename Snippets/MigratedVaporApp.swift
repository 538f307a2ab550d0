// snippet.hide
// A Vapor app moved from Vapor's sessions: the listing of "Migrating from Vapor's sessions".
// Examples/Tests/SessionKitVaporTests/MigratedVaporApp.swift is a link to this file, so the
// Vapor tests compile and run exactly this code (MigratedVaporAppTests); scripts/check-docs
// checks that the link is still a link to here. Declarations only: the tests' module has no
// top-level code.
#if Vapor
import SessionKitVapor
import Vapor

/// Stands in for the app's user database and password check.
extension User {
    static let all = ["42": User(id: "42", name: "alice", password: "secret")]

    static func find(_ id: String, on request: Request) async throws -> User? { all[id] }

    struct Credentials: Content {
        var name: String
        var password: String
    }

    static func verify(_ request: Request) async throws -> User {
        let credentials = try request.content.decode(Credentials.self)
        guard let user = all.values.first(where: { $0.name == credentials.name }), user.password == credentials.password else {
            throw Abort(.unauthorized)
        }
        return user
    }
}

// snippet.show
// snippet.user
/// The app's user, unchanged: Vapor's SessionAuthenticatable.
struct User: SessionAuthenticatable {
    var id: String
    var name: String
    var password: String
    var sessionID: String { id }
}
// snippet.end

// snippet.configure
func configure(_ app: Application) async throws {
    try await app.sessionKit.use(.memory)  // was: app.sessions.use(.memory)
    app.middleware.use(app.sessionKit.middleware)  // was: app.middleware.use(app.sessions.middleware)
    let signedIn = app.grouped(User.sessionKitAuthenticator(find: User.find))  // was: User.sessionAuthenticator()

    signedIn.get("login") { req in req.sessionKit.csrfToken() }  // new: the form's CSRF token
    signedIn.post("login") { req -> HTTPStatus in
        req.auth.login(try await User.verify(req))
        return .noContent
    }
    signedIn.get("me") { req in try req.auth.require(User.self).name }
    signedIn.post("logout") { req -> HTTPStatus in
        req.auth.logout(User.self)
        return .noContent
    }
}
// snippet.end
// snippet.hide
#endif
