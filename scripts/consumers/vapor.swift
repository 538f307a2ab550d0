// A Vapor app as the README shows it: log in, a CSRF-protected POST, read it back.
import Foundation
STORE_IMPORTS
import STORE_MODULE
import SessionKitVapor
import Vapor

// The port comes as the first argument; Vapor is told no command line of its own (it serves).
let app = try await Application.make(Environment(name: "production", arguments: ["consumer"]))
app.http.server.configuration.port = Int(CommandLine.arguments[1])!
STORE_SETUP
app.sessionKit.engine = try SessionEngine(store: store)
app.lifecycle.use(SessionStoreLifecycleHandler(run: store.run))
let sessions = app.grouped(app.sessionKit.middleware)
sessions.get("csrf") { req in req.sessionKit.csrfToken() }
sessions.post("login") { req in
    req.sessionKit.regenerate(owner: "alice")
    return req.sessionKit.csrfToken()  // regenerate() rotates the CSRF token
}
sessions.post("note") { req in
    req.sessionKit.put("note", .string(req.body.string ?? ""))
    return "saved"
}
sessions.get("me") { req in req.sessionKit.get("note")?.stringValue ?? "" }
try await app.execute()
try await app.asyncShutdown()
