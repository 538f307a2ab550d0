#if Redis
import Foundation
import PropertyBased
import SessionKit
import SessionKitConformance
import SessionKitRedis
import Testing

/// The conformance suite's properties on the Redis store (`REDIS_URL`):
/// concurrent requests on one session end as a serial order, and every value
/// round-trips.
@Suite(.shrinking, .enabled(if: RedisTestServer.shouldRun, "REDIS_URL not set; run scripts/test"))
struct RedisStorePropertyTests {
    /// Two engines each get their own store (connection pool) on the same key
    /// prefix, as two app servers would.
    @Test(arguments: [SessionStoreConformance.EngineLayout.oneEngine, .twoEngines])
    func concurrentRequestsEndAsASerialOrder(engines: SessionStoreConformance.EngineLayout) async throws {
        let configuration = try RedisTestServer.configuration()
        let store = try RedisStore(configuration: configuration)
        let other = try RedisStore(configuration: configuration)
        await propertyCheck(count: 100, input: Gen.concurrentRequests) { requests in
            await recordingErrors {
                try await SessionStoreConformance.checkConcurrentRequestsLinearize(
                    requests,
                    store: store,
                    engines: engines,
                    otherStore: other
                )
            }
        }
        await store.shutdown()
        await other.shutdown()
    }

    @Test func everyValueRoundTrips() async throws {
        let store = try RedisStore.forTesting()
        let engine = try SessionEngine(store: store)
        await propertyCheck(count: 100, input: Gen.sessionValues) { values in
            await recordingErrors { try await SessionStoreConformance.checkValuesRoundTrip(values, through: engine) }
        }
        await store.shutdown()
    }
}

// MARK: - PropertyBased glue (the same few lines in every store's test target)

/// Runs `body` and records what it throws as an issue: `propertyCheck` counts
/// recorded issues only and runs its body under `try?` (PropertyBased 2.0.1),
/// so a thrown failure would otherwise pass silently.
private func recordingErrors(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
    } catch {
        Issue.record(error, sourceLocation: sourceLocation)
    }
}

/// The checker's generator behind a concrete type: passing its `inout any
/// SeededRandomNumberGenerator` straight to `inout some RandomNumberGenerator`
/// crashes the Swift 6.3.1 compiler.
private struct DrawnGenerator: RandomNumberGenerator {
    var base: any SeededRandomNumberGenerator
    mutating func next() -> UInt64 { base.next() }
}

private func drawing<T>(from generator: inout any SeededRandomNumberGenerator, _ draw: (inout DrawnGenerator) -> T) -> T {
    var drawn = DrawnGenerator(base: generator)
    defer { generator = drawn.base }
    return draw(&drawn)
}

extension Gen where Value == SessionStoreConformance.ConcurrentRequests {
    fileprivate static var concurrentRequests: Generator<Value, [Value]> {
        Generator(run: { rng in drawing(from: &rng) { Value.random(using: &$0) } }, shrink: { $0.simpler })
    }
}

extension Gen where Value == [String: SessionValue] {
    fileprivate static var sessionValues: Generator<Value, [Value]> {
        Generator(
            run: { rng in drawing(from: &rng) { SessionStoreConformance.RandomInput.values(allowsNonFinite: true, using: &$0) } },
            shrink: { SessionStoreConformance.RandomInput.simplerValues(than: $0) }
        )
    }
}
#endif  // Redis
