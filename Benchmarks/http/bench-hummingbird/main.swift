import BenchServerSupport
import Foundation
import Hummingbird
import HummingbirdAuth
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import SessionKit
import SessionKitHummingbird
import SessionKitPostgres
import SessionKitRedis
import SessionKitSQLite
import Synchronization

// One Hummingbird server per variant of the HTTP benchmark (Benchmarks/http/run).
//
// Environment: VARIANT (below), PORT, and for the store variants SQLITE_PATH,
// REDIS_URL or DATABASE_URL. Every variant serves the same routes:
//
//   POST /login    starts a session (user "alice", count 0); the body is the CSRF token
//                  for the -csrf variant, "ok" otherwise
//   GET  /read     reads the user, writes nothing
//   POST /counter  reads the count, adds one, writes it back, returns it
//   GET  /count    the session's count, read only
//   GET  /stats    how many POST /counter requests got a 2xx response (counted outside
//                  the session middleware, so after the commit)
//   GET  /health   readiness
//   GET  /metrics  with BENCH_METRICS=1 only: SessionKit's counters (conflicts, replays, ...)
//
// The bare variant has no session: /read and /counter answer a constant. The
// hb-redis-floor variant has no session either: its routes send the Redis commands a
// session counter needs, and nothing else (see runRedisFloor).

let environment = ProcessInfo.processInfo.environment
let variant = environment["VARIANT"] ?? "hb-bare"
guard let port = environment["PORT"].flatMap(Int.init) else {
    fatalError("PORT is not set")
}

// Per-request logging would dominate the figures; every variant logs warnings only.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}
let logger = {
    var logger = Logger(label: "bench-hummingbird")
    logger.logLevel = .warning
    return logger
}()

/// SessionKit's counters, for diagnosing a variant; off in measured runs.
let countingMetrics: CountingMetrics? = environment["BENCH_METRICS"] == "1" ? CountingMetrics() : nil
if let countingMetrics { MetricsSystem.bootstrap(countingMetrics) }

let configuration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: port))

/// POST /counter requests answered with a 2xx status, for the harness's lost-increment check.
let successfulIncrements = Atomic<Int>(0)

/// Counts successful increments after everything inside it, the session commit included, has run.
struct IncrementCountingMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        if request.method == .post, request.uri.path == "/counter", (200..<300).contains(response.status.code) {
            successfulIncrements.add(1, ordering: .relaxed)
        }
        return response
    }
}

func addCommonRoutes<Context: RequestContext>(to router: Router<Context>) {
    router.get("/health") { _, _ in "ok" }
    router.get("/stats") { _, _ in String(successfulIncrements.load(ordering: .relaxed)) }
    router.get("/metrics") { _, _ in countingMetrics?.report ?? "BENCH_METRICS is not 1\n" }
}

// MARK: Bare

func runBare() async throws {
    let router = Router()
    addCommonRoutes(to: router)
    router.get("/read") { _, _ in "alice" }
    router.post("/counter") { _, _ in "1" }
    try await Application(router: router, configuration: configuration, logger: logger).runService()
}

// MARK: SessionKit

func runSessionKit(store: any SessionStore, csrf: Bool, services: [any Service] = []) async throws {
    var engineConfiguration = SessionEngine.Configuration()
    if csrf {
        engineConfiguration.csrf.mode = .originAndToken
        // The login starts the session that holds the secret, so it cannot carry a token yet.
        engineConfiguration.csrf.excludedPaths = ["/login"]
    } else {
        // The anchors have no CSRF protection; the -csrf variant shows what it costs.
        engineConfiguration.csrf.mode = .disabled
    }
    let engine = try SessionEngine(store: store, configuration: engineConfiguration, logger: logger)

    let router = Router(context: BasicSessionKitRequestContext.self)
    router.add(middleware: IncrementCountingMiddleware())
    router.add(middleware: SessionKitMiddleware(engine: engine))
    addCommonRoutes(to: router)
    router.post("/login") { _, context in
        context.session.put("user", "alice")
        context.session.put("count", 0)
        return csrf ? context.session.csrfToken() : "ok"
    }
    router.get("/read") { _, context in
        context.session.get("user")?.stringValue ?? "anonymous"
    }
    router.post("/counter") { _, context in
        // `increment` is SessionKit's read-add-write: it records an increment, not the
        // value it computed, so a commit that loses a compare-and-swap replays it.
        String(context.session.increment("count"))
    }
    router.get("/count") { _, context in
        String(context.session.get("count")?.intValue ?? -1)
    }
    try await Application(router: router, configuration: configuration, services: services, logger: logger).runService()
}

// MARK: hummingbird-auth

struct CounterSession: Codable, Sendable {
    var user: String
    var count: Int
}

func runHummingbirdAuth() async throws {
    let router = Router(context: BasicSessionRequestContext<CounterSession, String>.self)
    router.add(middleware: IncrementCountingMiddleware())
    router.add(middleware: SessionMiddleware(storage: MemoryPersistDriver()))
    addCommonRoutes(to: router)
    router.post("/login") { _, context in
        context.sessions.createSession(CounterSession(user: "alice", count: 0))
        return "ok"
    }
    router.get("/read") { _, context in
        context.sessions.session?.user ?? "anonymous"
    }
    router.post("/counter") { _, context in
        guard var session = context.sessions.session else { throw HTTPError(.unauthorized) }
        session.count += 1
        _ = context.sessions.updateSession(session)
        return String(session.count)
    }
    router.get("/count") { _, context in
        String(context.sessions.session?.count ?? -1)
    }
    try await Application(router: router, configuration: configuration, logger: logger).runService()
}

// MARK: Redis floor

/// The physical limit of a session counter on Redis: the two round trips a counter
/// needs (the load, `HMGET`, and the compare-and-swap script) through SessionKit's own
/// Redis client, with no session logic around them: no cookie, no token, no payload
/// codec (the record's data is the count as decimal text), no engine, no commit queue.
///
/// The requests take turns over 64 records (made by POST /login), so the 32 concurrent
/// requests rarely race for one record: the floor is two round trips, not a
/// compare-and-swap conflict storm on a single key (which the session counter avoids
/// with its commit queue). A lost compare-and-swap loads again and retries, so no
/// increment is lost; GET /count sums the records.
func runRedisFloor(store: RedisStore) async throws {
    let recordCount = 64
    let makeKeys: @Sendable () -> [SessionKey] = { (0..<recordCount).map { _ in SessionToken.generate().key } }
    let keys = Mutex(makeKeys())
    let turn = Atomic<Int>(0)
    let expiry: @Sendable () -> Date = { Date().addingTimeInterval(3600) }
    @Sendable func count(_ key: SessionKey) async throws -> (Int, SessionVersion?) {
        guard let stored = try await store.load(key) else { return (0, nil) }
        return (Int(String(decoding: stored.record.data, as: UTF8.self)) ?? 0, stored.version)
    }
    @Sendable func total() async throws -> Int {
        var sum = 0
        for key in keys.withLock({ $0 }) { sum += try await count(key).0 }
        return sum
    }
    let router = Router()
    router.add(middleware: IncrementCountingMiddleware())
    addCommonRoutes(to: router)
    router.post("/login") { _, _ in
        // Fresh records, so the measured run counts from zero.
        let fresh = makeKeys()
        for key in fresh {
            _ = try await store.save(SessionRecord(key: key, data: Array("0".utf8), expiresAt: expiry()), expecting: nil)
        }
        keys.withLock { $0 = fresh }
        return "ok"
    }
    router.get("/read") { _, _ in
        String(try await count(keys.withLock { $0[0] }).0)
    }
    router.post("/counter") { _, _ in
        let index = turn.add(1, ordering: .relaxed).newValue % recordCount
        let key = keys.withLock { $0[index] }
        while true {
            let (value, version) = try await count(key)
            let record = SessionRecord(key: key, data: Array(String(value + 1).utf8), expiresAt: expiry())
            if case .saved = try await store.save(record, expecting: version) {
                return String(value + 1)
            }
        }
    }
    router.get("/count") { _, _ in
        String(try await total())
    }
    try await Application(router: router, configuration: configuration, logger: logger).runService()
}

// MARK: Stores

/// Runs a PostgreSQL client's pool for the life of the app.
struct PostgresClientService: Service {
    let client: PostgresClient
    func run() async throws {
        await client.run()
    }
}

func requiredVariable(_ name: String) -> String {
    guard let value = environment[name], !value.isEmpty else { fatalError("\(name) is not set for \(variant)") }
    return value
}

switch variant {
case "hb-bare":
    try await runBare()
case "hb-sessionkit-read", "hb-sessionkit-counter":
    try await runSessionKit(store: MemoryStore(), csrf: false)
case "hb-sessionkit-counter-csrf":
    try await runSessionKit(store: MemoryStore(), csrf: true)
case "hb-sessionkit-counter-sqlite":
    try await runSessionKit(store: SQLiteStore(path: requiredVariable("SQLITE_PATH"), logger: logger), csrf: false)
case "hb-sessionkit-counter-redis", "hb-sessionkit-counter-redis-cluster":
    try await runSessionKit(store: RedisStore(configuration: .init(url: requiredVariable("REDIS_URL")), logger: logger), csrf: false)
case "hb-sessionkit-counter-postgres":
    let client = PostgresClient(configuration: try PostgresStore.clientConfiguration(url: requiredVariable("DATABASE_URL")))
    let store = try PostgresStore(client: client, logger: logger)
    try await runSessionKit(store: store, csrf: false, services: [PostgresClientService(client: client)])
case "hb-redis-floor":
    try await runRedisFloor(store: RedisStore(configuration: .init(url: requiredVariable("REDIS_URL")), logger: logger))
case "hb-auth-counter":
    try await runHummingbirdAuth()
default:
    fatalError("unknown VARIANT \(variant)")
}
