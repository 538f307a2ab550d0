// snippet.hide
#if SQLite && Postgres && Redis
import Foundation
import PostgresNIO
import SessionKit
import SessionKitPostgres
import SessionKitRedis
import SessionKitSQLite

// Each store in a function of its own, so every listing can name its store `store`.
func memory() throws {
    // snippet.show
    // snippet.memory
    let store = try MemoryStore(configuration: .init(maximumSessions: 100_000))  // past it, the session that expires soonest is evicted
    let engine = try SessionEngine(store: store)
    // snippet.end
    // snippet.hide
    _ = engine
}

func file() throws {
    // snippet.show
    // snippet.file
    let store = try FileStore(directory: "/var/lib/myapp/sessions")  // created (mode 0700) if missing
    let engine = try SessionEngine(store: store)
    // snippet.end
    // snippet.hide
    _ = engine
}

func sqlite() async throws {
    // snippet.show
    // snippet.sqlite
    let store = try await SQLiteStore(path: "/var/lib/myapp/sessions.sqlite")  // opens or creates the file and table
    let engine = try SessionEngine(store: store)
    // ... serve requests; at shutdown:
    try await store.close()
    // snippet.end
    // snippet.hide
    _ = engine
}

func postgres() throws {
    let environment = ProcessInfo.processInfo.environment
    // snippet.show
    // snippet.postgres
    let url = environment["DATABASE_URL"] ?? "postgres://app:secret@127.0.0.1:5432/app"
    let client = PostgresClient(configuration: try PostgresStore.clientConfiguration(url: url))
    let store = try PostgresStore(client: client)  // your app runs `client.run()` (a Service) while it serves
    let engine = try SessionEngine(store: store)
    // snippet.end
    // snippet.hide
    _ = engine
}

func redis() throws {
    let environment = ProcessInfo.processInfo.environment
    // snippet.show
    // snippet.redis
    let url = environment["REDIS_URL"] ?? "redis://127.0.0.1:6379/0"
    let store = try RedisStore(configuration: .init(url: url))  // connects on first use
    let engine = try SessionEngine(store: store)
    // snippet.end
    // snippet.hide
    _ = engine
}

func cookie() throws {
    let environment = ProcessInfo.processInfo.environment
    // snippet.show
    // snippet.cookie
    // SESSION_COOKIE_KEYS="k2:<32 random bytes, base64>,k1:<the key before>": the first key seals, every key opens.
    let keys = try CookieStore(keyList: environment["SESSION_COOKIE_KEYS"] ?? "")
    let engine = try SessionEngine(cookieStore: keys)
    // snippet.end
    // snippet.hide
    _ = engine
}

func newCookieKey() throws {
    // snippet.show
    // snippet.cookieKey
    let key = try CookieStore.Key.generate(id: "k3")
    print(key.listEntry)  // "k3:…": put it first in SESSION_COOKIE_KEYS; keep it with your other secrets
    // snippet.end
    // snippet.hide
}
/// Stands in for the app's own per-user counter.
struct Users {
    func sessionEpoch(of userID: String) async throws -> Int64 { 0 }
}

func cookieEpoch(users: Users) throws {
    let environment = ProcessInfo.processInfo.environment
    // snippet.show
    // snippet.epoch
    // Each user's epoch lives in your own storage (a column of the users table, cached).
    // Sessions bound with regenerate(owner:) carry the epoch of their sign-in;
    // add one to a user's epoch and every older cookie of that user is no session.
    let keys = try CookieStore(keyList: environment["SESSION_COOKIE_KEYS"] ?? "") { owner in
        try await users.sessionEpoch(of: owner)
    }
    let engine = try SessionEngine(cookieStore: keys)
    // snippet.end
    // snippet.hide
    _ = engine
}
#endif
