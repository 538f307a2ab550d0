// snippet.hide
#if Hummingbird && Vapor && SQLite && Postgres && Redis
import Foundation
import Hummingbird
import SessionKitHummingbird
import SessionKitVapor
import Vapor

func hummingbirdFromURL() async throws {
    let router = Router(context: BasicSessionKitRequestContext.self)
    // snippet.show
    // snippet.hummingbird
    // SESSION_STORE_URL=memory: | file:///var/lib/app/sessions | sqlite:///var/lib/app/sessions.sqlite
    //                   | redis://host:6379/0 | rediss://… | postgres://user:password@host/app
    let url = ProcessInfo.processInfo.environment["SESSION_STORE_URL"] ?? "memory:"
    let sessions = try await SessionKitService(SessionStoreDriver(url: url))
    router.add(middleware: sessions.middleware())
    let app = Hummingbird.Application(router: router, services: [sessions])
    // snippet.end
    // snippet.hide
    _ = app
}

func vaporFromURL(app: Vapor.Application) async throws {
    // snippet.show
    // snippet.vapor
    try await app.sessionKit.use(SessionStoreDriver(url: Environment.get("SESSION_STORE_URL") ?? "memory:"))
    app.middleware.use(app.sessionKit.middleware)
    // snippet.end
    // snippet.hide
}
#endif
