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

func redisClusterStore() throws -> RedisStore {
    // snippet.show
    // snippet.redis-cluster
    // Any reachable nodes will do as seeds: the store reads the slot map from the first that
    // answers, then talks to each master. The same as .cluster(seeds:) on `topology`.
    let configuration = try RedisStore.Configuration(url: "redis-cluster://:secret@10.0.0.11:6379,10.0.0.12:6379,10.0.0.13:6379")
    let store = try RedisStore(configuration: configuration)
    // snippet.end
    // snippet.hide
    return store
}

func redisTLS() throws {
    // snippet.show
    // snippet.redis-tls
    // rediss:// verifies the server against the system's CAs; a private CA, a client
    // certificate (mutual TLS) or another name to verify are set on `tls`.
    var configuration = try RedisStore.Configuration(url: "rediss://:secret@redis.internal:6380/0")
    configuration.tls = RedisStore.TLS(
        trustRoots: .caFile("/etc/redis/tls/ca.crt"),
        certificateFile: "/etc/redis/tls/client.crt",
        privateKeyFile: "/etc/redis/tls/client.key"
    )
    let store = try RedisStore(configuration: configuration)
    // snippet.end
    // snippet.hide
    _ = store
}

func redisSentinel() throws {
    // snippet.show
    // snippet.redis-sentinel
    // The master named "sessions", found through three sentinels; each write waits
    // until one replica has it, so a failover does not lose it.
    var configuration = try RedisStore.Configuration(
        url: "redis-sentinel://:secret@sentinel-1.internal:26379,sentinel-2.internal:26379,sentinel-3.internal:26379/sessions?db=0&wait=1"
    )
    configuration.sentinelPassword = "sentinel-secret"  // only if the sentinels have one
    let store = try RedisStore(configuration: configuration)
    // snippet.end
    // snippet.hide
    _ = store
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
