// snippet.hide
#if Hummingbird
import Foundation
// snippet.show
import Hummingbird
import SessionKitHummingbird

struct Login: Decodable { let name: String, password: String }
let sessions = try await SessionKitService(.memory)  // the engine, and the store's sweeps as one service
let router = Router(context: BasicSessionKitRequestContext.self)
router.add(middleware: sessions.middleware())

// The client's CSRF token: from this route, or the readable XSRF-TOKEN cookie. A POST without it: 403.
router.get("/csrf") { _, context in context.session.csrfToken() }
router.post("/login") { request, context in
    let login = try await request.decode(as: Login.self, context: context)  // check login.password here
    context.session.regenerate(owner: login.name)  // new session id and CSRF token: no fixation
    return context.session.csrfToken()
}
router.post("/counter") { _, context in "\(context.session.increment("count"))" }

let app = Application(router: router, services: [sessions])
// snippet.hide
// Compiled by `swift build`, never run: the server starts only with SESSIONKIT_SNIPPET_SERVE set.
guard ProcessInfo.processInfo.environment["SESSIONKIT_SNIPPET_SERVE"] != nil else { exit(0) }
// snippet.show
try await app.runService()
// snippet.hide
#endif
