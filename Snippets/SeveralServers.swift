// snippet.hide
#if Hummingbird && Postgres && Redis
import Foundation
import Hummingbird
import PostgresNIO
import SessionKitHummingbird
import SessionKitPostgres
import SessionKitRedis

func redisApp() async throws {
    let environment = ProcessInfo.processInfo.environment
    // snippet.show
    // snippet.redis
    let sessions = try await SessionKitService(.redis(url: environment["REDIS_URL"] ?? "redis://127.0.0.1:6379/0"))
    let router = Router(context: BasicSessionKitRequestContext.self)
    router.add(middleware: sessions.middleware())
    // The service waits for graceful shutdown, then closes the store's connections.
    let app = Application(router: router, services: [sessions])
    try await app.runService()
    // snippet.end
    // snippet.hide
}

func postgresApp() async throws {
    let environment = ProcessInfo.processInfo.environment
    // snippet.show
    // snippet.postgres
    let url = environment["DATABASE_URL"] ?? "postgres://app:secret@127.0.0.1:5432/app"
    let sessions = try await SessionKitService(.postgres(url: url))
    let router = Router(context: BasicSessionKitRequestContext.self)
    router.add(middleware: sessions.middleware())
    // The service runs the client's pool, creates the table when the server answers,
    // and deletes expired rows every 5 minutes.
    let app = Application(router: router, services: [sessions])
    try await app.runService()
    // snippet.end
    // snippet.hide
}

func origins() throws {
    // snippet.show
    // snippet.origins
    var configuration = SessionEngine.Configuration()
    // Behind a proxy that rewrites the Host header, name the public origin: a browser that
    // sends Origin without Sec-Fetch-Site is compared with Host, which no longer matches.
    configuration.csrf.trustedOrigins = ["https://www.example.com"]
    // snippet.end
    // snippet.hide
    _ = configuration
}
#endif
