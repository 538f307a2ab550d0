// snippet.hide
#if Redis
import Foundation
import SessionKitRedis

func encrypted() throws {
    let environment = ProcessInfo.processInfo.environment
    // snippet.show
    // snippet.configure
    // SESSION_ENCRYPTION_KEYS="e2:<32 random bytes, base64>,e1:<the key before>": the first key seals, every key opens.
    var configuration = SessionEngine.Configuration()
    configuration.payloadEncryption = try SessionPayloadEncryption(keyList: environment["SESSION_ENCRYPTION_KEYS"] ?? "")
    let store = try RedisStore(configuration: .init(url: environment["REDIS_URL"] ?? "redis://127.0.0.1:6379/0"))
    let engine = try SessionEngine(store: store, configuration: configuration)
    // snippet.end
    // snippet.hide
    _ = engine
}

func newKey() throws {
    // snippet.show
    // snippet.newKey
    let key = try CookieStore.Key.generate(id: "e3")
    print(key.listEntry)  // "e3:…": put it first in SESSION_ENCRYPTION_KEYS on every server
    // snippet.end
    // snippet.hide
}

func changeover(configuration: inout SessionEngine.Configuration) throws {
    let environment = ProcessInfo.processInfo.environment
    // snippet.show
    // snippet.changeover
    // Only while switching encryption on: records written before it are still read, as plain JSON.
    // Remove acceptsPlaintextRecords once the absolute timeout (7 days by default) has passed.
    configuration.payloadEncryption = try SessionPayloadEncryption(
        keyList: environment["SESSION_ENCRYPTION_KEYS"] ?? "",
        acceptsPlaintextRecords: true
    )
    // snippet.end
    // snippet.hide
}
#endif
