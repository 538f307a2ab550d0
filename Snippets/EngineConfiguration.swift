// snippet.hide
import Foundation
import SessionKit

func limits() throws {
    // snippet.show
    // snippet.limits
    var configuration = SessionEngine.Configuration()
    configuration.maximumSessionSize = 64 << 10  // 64 KiB; a commit that would store more is answered 413 and writes nothing
    configuration.decodedRecordCacheByteBudget = 32 << 20  // up to 32 MiB of recently used records kept decoded
    configuration.maximumInFlightStoreOperations = 256  // past it a request gets 503 at once instead of queueing
    let engine = try SessionEngine(store: try FileStore(directory: "sessions"), configuration: configuration)
    // snippet.end
    // snippet.hide
    _ = engine
}

func sliding() throws {
    // snippet.show
    // snippet.sliding
    var configuration = SessionEngine.Configuration()
    // Signed in for as long as the user comes back within 30 days; no absolute limit.
    configuration.expiry = SessionExpiryPolicy(
        idleTimeout: .seconds(30 * 86_400),
        absoluteTimeout: nil,
        touchInterval: .seconds(86_400)  // write the moved expiry back at most once a day
    )
    let engine = try SessionEngine(store: try FileStore(directory: "sessions"), configuration: configuration)
    // snippet.end
    // snippet.hide
    _ = engine
}

func cookie() throws {
    // snippet.show
    // snippet.cookie
    var configuration = SessionEngine.Configuration()
    // A prefixed name is sent as it is, and the engine refuses a configuration that breaks its rules:
    // __Host-Http- needs Secure, HttpOnly, no Domain and Path=/.
    configuration.cookie.name = "__Host-Http-session"
    configuration.cookie.lifetime = .twoYears  // sent as Max-Age=34560000: 400 days, the browsers' cap
    let engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
    // snippet.end
    // snippet.hide
    _ = engine
}
