// snippet.hide
#if Vapor
import Foundation
// snippet.show
import SessionKitVapor
import Vapor

struct Login: Content { let name: String, password: String }
let app = try await Application.make(.detect())
try await app.sessionKit.use(.memory)  // the engine, and the store's sweeps while the app runs
app.middleware.use(app.sessionKit.middleware)

// The client's CSRF token: from this route, or the readable XSRF-TOKEN cookie. A POST without it: 403.
app.get("csrf") { req in req.sessionKit.csrfToken() }
app.post("login") { req in
    let login = try req.content.decode(Login.self)  // check login.password here
    req.sessionKit.regenerate(owner: login.name)  // new session id and CSRF token: no fixation
    return req.sessionKit.csrfToken()
}
app.post("counter") { req in "\(req.sessionKit.increment("count"))" }
// snippet.hide
// Compiled by `swift build`, never run: the server starts only with SESSIONKIT_SNIPPET_SERVE set.
guard ProcessInfo.processInfo.environment["SESSIONKIT_SNIPPET_SERVE"] != nil else { exit(0) }
// snippet.show
try await app.execute()
try await app.asyncShutdown()
// snippet.hide
#endif
