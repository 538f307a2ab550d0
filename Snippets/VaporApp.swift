// snippet.hide
#if Vapor
import Foundation
// snippet.show
import SessionKitVapor
import Vapor

let app = try await Application.make(.detect())

// snippet.engine
var configuration = SessionEngine.Configuration()
configuration.expiry.idleTimeout = .seconds(60 * 60)  // signed out after an hour without a request
// The store survives a restart (see "Choosing a store"); its expiry sweeps run while the app runs.
try await app.sessionKit.use(.file(directory: "sessions"), configuration: configuration)  // throws on a bad setting

// Only the routes of this group load sessions (and check CSRF); the others never read the cookie.
let web = app.grouped(app.sessionKit.middleware)
// snippet.end

// snippet.form
struct Profile: Content { let displayName: String }

web.get("profile") { req in
    let saved = req.sessionKit.getFlash("status")?.stringValue ?? ""
    // A fresh masked token per page; it is base64url, safe in HTML as it is.
    let page = """
        <p>\(saved)</p>
        <form method="post" action="/profile">
          <input type="hidden" name="_token" value="\(req.sessionKit.csrfToken())">
          <input name="displayName"> <button>Save</button>
        </form>
        """
    return Response(headers: ["Content-Type": "text/html; charset=utf-8"], body: .init(string: page))
}
web.post("profile") { req in
    // The middleware has already checked _token; req.content still reads the whole body.
    let profile = try req.content.decode(Profile.self)
    req.sessionKit.put("displayName", .string(profile.displayName))
    req.sessionKit.flash("status", "Saved.")  // shown by the next request only
    return req.redirect(to: "/profile")
}
// snippet.end

// snippet.logout
web.post("logout") { req in
    req.sessionKit.invalidate()  // the data is gone and the old cookie stops working
    return req.redirect(to: "/")
}
// snippet.end

// snippet.hide
// Compiled by `swift build`, never run: the server starts only with SESSIONKIT_SNIPPET_SERVE set.
guard ProcessInfo.processInfo.environment["SESSIONKIT_SNIPPET_SERVE"] != nil else { exit(0) }
// snippet.show
try await app.execute()
try await app.asyncShutdown()
// snippet.hide
#endif
