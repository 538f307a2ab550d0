// snippet.hide
#if Vapor
import Foundation
import SessionKitVapor
import Vapor

let app = try await Application.make(.testing)
// snippet.show
// snippet.sideBySide
// Vapor's sessions stay on the routes that still use req.session; their cookies differ.
app.sessions.use(.memory)
let legacy = app.grouped(app.sessions.middleware)

try await app.sessionKit.use(.memory)
let moved = app.grouped(app.sessionKit.middleware)

legacy.get("old-cart") { req in req.session.data["cart"] ?? "empty" }
moved.get("cart") { req in req.sessionKit.get("cart")?.stringValue ?? "empty" }
// snippet.end

// snippet.hide
try await app.asyncShutdown()
#endif
