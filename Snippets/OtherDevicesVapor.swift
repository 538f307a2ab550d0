// snippet.hide
#if Vapor
import Foundation
import SessionKitVapor
import Vapor

struct Login: Content { let name: String, password: String }
let app = try await Application.make(.testing)
let store = try MemoryStore()
// snippet.show
// snippet.engine
var configuration = SessionEngine.Configuration()
configuration.metadata.recordsUserAgent = true  // off by default: it is personal data
app.sessionKit.engine = try SessionEngine(store: store, configuration: configuration)
app.middleware.use(app.sessionKit.middleware)
// snippet.end

// snippet.login
app.post("login") { req in
    let login = try req.content.decode(Login.self)  // check login.password here
    req.sessionKit.regenerate(owner: login.name)  // a new id, bound to the user: listed from now on
    return "ok"
}
// snippet.end

// snippet.list
app.get("sessions") { req async throws in
    guard let owner = req.sessionKit.owner else { throw Abort(.unauthorized) }
    let engine = req.application.sessionKit.engine
    let sessions = try await engine.sessions(of: owner, current: req.sessionKit)  // newest first
    return sessions.map { "\($0.isCurrent ? "this device" : $0.handle): \($0.userAgent ?? "unknown device")" }
        .joined(separator: "\n")
}
// snippet.end

// snippet.revoke
app.delete("sessions", ":handle") { req async throws -> HTTPStatus in
    guard let owner = req.sessionKit.owner else { throw Abort(.unauthorized) }
    let handle = try req.parameters.require("handle")
    return try await req.application.sessionKit.engine.revokeSession(handle: handle, of: owner) ? .noContent : .notFound
}
app.post("sessions", "revoke-others") { req async throws in
    guard let owner = req.sessionKit.owner else { throw Abort(.unauthorized) }
    let count = try await req.application.sessionKit.engine.revokeSessions(of: owner, except: req.sessionKit)
    return "signed out \(count) other sessions"
}
// snippet.end
// snippet.hide
try await app.asyncShutdown()
#endif
