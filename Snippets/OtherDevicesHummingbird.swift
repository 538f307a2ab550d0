// snippet.hide
#if Hummingbird
import Foundation
import Hummingbird
import SessionKitHummingbird

struct Login: Decodable { let name: String, password: String }
let store = try MemoryStore()
// snippet.show
// snippet.engine
var configuration = SessionEngine.Configuration()
configuration.metadata.recordsUserAgent = true  // off by default: it is personal data
let engine = try SessionEngine(store: store, configuration: configuration)
let router = Router(context: BasicSessionKitRequestContext.self)
router.add(middleware: SessionKitMiddleware(engine: engine))
// snippet.end

// snippet.login
router.post("/login") { request, context in
    let login = try await request.decode(as: Login.self, context: context)  // check login.password here
    context.session.regenerate(owner: login.name)  // a new id, bound to the user: listed from now on
    return "ok"
}
// snippet.end

// snippet.list
router.get("/sessions") { _, context in
    guard let owner = context.session.owner else { throw HTTPError(.unauthorized) }
    let sessions = try await engine.sessions(of: owner, current: context.session)  // newest first
    return sessions.map { "\($0.isCurrent ? "this device" : $0.handle): \($0.userAgent ?? "unknown device")" }
        .joined(separator: "\n")
}
// snippet.end

// snippet.revoke
router.delete("/sessions/:handle") { _, context -> HTTPResponse.Status in
    guard let owner = context.session.owner else { throw HTTPError(.unauthorized) }
    let handle = try context.parameters.require("handle")
    return try await engine.revokeSession(handle: handle, of: owner) ? .noContent : .notFound
}
router.post("/sessions/revoke-others") { _, context in
    guard let owner = context.session.owner else { throw HTTPError(.unauthorized) }
    let count = try await engine.revokeSessions(of: owner, except: context.session)
    return "signed out \(count) other sessions"
}
// snippet.end
// snippet.hide
#endif
