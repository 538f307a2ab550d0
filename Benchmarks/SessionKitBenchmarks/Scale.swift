import Benchmark
import Foundation
import SessionKit

/// Load and save on a ``MemoryStore`` already holding 10³, 10⁵ and 10⁶ sessions.
/// Filling the store happens in setup, outside the measurement; the sessions
/// touched are spread over the whole store, so cache misses grow with it.
func scaleBenchmarks() {
    for (label, count) in [("1K", 1_000), ("100K", 100_000), ("1M", 1_000_000)] {
        Benchmark("MemoryStore:Load:\(label)", configuration: .init(maxDuration: .seconds(1))) { (benchmark: Benchmark, filled: FilledStore) in
            var index = 0
            for _ in benchmark.scaledIterations {
                blackHole(try await filled.store.load(filled.keys[index % filled.keys.count]))
                index &+= 1
            }
        } setup: {
            try await FilledStore(count: count)
        }

        Benchmark("MemoryStore:Save:\(label)", configuration: .init(maxDuration: .seconds(1))) { (benchmark: Benchmark, filled: FilledStore) in
            var index = 0
            for _ in benchmark.scaledIterations {
                let slot = index % filled.keys.count
                let record = SessionRecord(key: filled.keys[slot], data: filled.data, expiresAt: filled.expiresAt)
                guard case .saved(let version) = try await filled.store.save(record, expecting: filled.versions[slot]) else {
                    throw FixtureError.unexpectedAction("conflict")
                }
                filled.versions[slot] = version
                index &+= 1
            }
        } setup: {
            try await FilledStore(count: count)
        }
    }
}

/// A memory store with `count` live sessions, and a random sample of their keys.
final class FilledStore: @unchecked Sendable {
    // Unchecked: only the benchmark's own closure, on one task at a time, touches `versions`.
    static let sampleCount = 1_024
    let store: MemoryStore
    let keys: [SessionKey]
    var versions: [SessionVersion]
    let data: [UInt8]
    let expiresAt = Date().addingTimeInterval(24 * 3600)

    init(count: Int) async throws {
        store = try MemoryStore(configuration: .init(maximumSessions: count + 1))
        // A logged-in session's bytes, as the engine writes them.
        data = Array(#"{"c":1700000000.25,"d":{"_csrf":"Vn4cA2mX7pQ1rT8yK3wE6uJ9bL0zD5fG4hN7sC2vM1x","user":"alice"},"v":1}"#.utf8)
        var sample: [SessionKey] = []
        let every = max(1, count / Self.sampleCount)
        for index in 0..<count {
            let key = SessionToken.generate().key
            // Each record gets its own copy of the bytes, as records saved by separate requests do.
            let record = SessionRecord(key: key, data: data.map { $0 }, expiresAt: expiresAt)
            _ = try await store.save(record, expecting: nil)
            if index % every == 0, sample.count < Self.sampleCount { sample.append(key) }
        }
        keys = sample.shuffled()
        var versions: [SessionVersion] = []
        for key in keys {
            versions.append(try await store.load(key)?.version ?? .initial)
        }
        self.versions = versions
    }
}
