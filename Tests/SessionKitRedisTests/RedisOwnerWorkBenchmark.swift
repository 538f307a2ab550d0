#if Redis
import Foundation
import SessionKit
import Synchronization
import Testing

@testable import SessionKitRedis

/// Issue 16 item 3's benchmark: one owner's sessions are listed and revoked
/// while other users' requests go on; their p99 is measured before and during.
///
/// Runs only with `SESSIONKIT_BENCHMARK_OWNERS=<sessions of the owner>` (and
/// `REDIS_URL`); it prints its figures and asserts nothing about timing, so a
/// busy machine cannot fail it. Each round: 8 tasks of "other users" `load`
/// their own sessions in a loop; meanwhile the owner is listed and revoked
/// three ways — the paged API (what the engine does), and, for comparison, the
/// whole owner set in one Lua call as the store did before paging.
@Suite(
    .enabled(if: RedisTestServer.url != nil && ownerBenchmarkSize != nil, "set SESSIONKIT_BENCHMARK_OWNERS and REDIS_URL"),
    .serialized
)
struct RedisOwnerWorkBenchmark {
    @Test func otherUsersKeepTheirP99WhileAnOwnerIsListedAndRevoked() async throws {
        let size = ownerBenchmarkSize ?? 100
        let store = try RedisStore.forTesting()
        let others = (0..<200).map { _ in
            SessionRecord(key: SessionToken.generate().key, data: Array(repeating: 7, count: 200), expiresAt: Date() + 600)
        }
        for record in others { _ = try await store.save(record, expecting: nil) }

        let idle = try await measureOthers(store, others, during: nil)
        print("owner-benchmark sessions=\(size) baseline: \(idle)")

        let owner = try await fill(store, size)
        let paged = try await measureOthers(store, others) {
            let listed = try await store.allSessions(of: owner)
            let revoked = try await store.deleteAllSessions(of: owner, except: nil)
            print("owner-benchmark paged: listed \(listed.count), revoked \(revoked)")
        }
        print("owner-benchmark sessions=\(size) during paged list+revoke: \(paged)")

        let again = try await fill(store, size)
        let whole = try await measureOthers(store, others) {
            // The store's scripts before paging: every member of the owner set in one call.
            let digest = RedisStore.ownerDigest(again)
            let set = store.ownerSetKey(digest)
            let prefix = RESPCommand.Argument.string(store.configuration.keyPrefix)
            let now = RESPCommand.Argument.string(String(RedisStore.milliseconds(Date())))
            let listed = try await store.send(
                RESPCommand("EVAL", .string(Self.wholeSetList), .string("1"), set, prefix, .string(digest), now)
            )
            let revoked = try await store.send(
                RESPCommand("EVAL", .string(Self.wholeSetDelete), .string("1"), set, prefix, .string(digest))
            )
            print("owner-benchmark whole-set: listed \(listed.arrayCount), revoked \(revoked)")
        }
        print("owner-benchmark sessions=\(size) during whole-set list+revoke (before paging): \(whole)")
        await store.shutdown()
    }

    /// Saves `count` sessions of a new owner, pipelined in chunks.
    private func fill(_ store: RedisStore, _ count: Int) async throws -> String {
        let owner = "owner-\(UUID().uuidString)"
        for start in stride(from: 0, to: count, by: 500) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in start..<min(start + 500, count) {
                    group.addTask {
                        let record = SessionRecord(
                            key: SessionToken.generate().key,
                            data: Array(repeating: 1, count: 200),
                            expiresAt: Date() + 600,
                            owner: owner
                        )
                        _ = try await store.save(record, expecting: nil)
                    }
                }
                try await group.waitForAll()
            }
        }
        return owner
    }

    /// Latencies of other users' loads, 8 at a time, for as long as `work` runs.
    private func measureOthers(
        _ store: RedisStore,
        _ others: [SessionRecord],
        during work: (@Sendable () async throws -> Void)?
    ) async throws -> Percentiles {
        let done = Flag()
        return try await withThrowingTaskGroup(of: [Double].self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var samples: [Double] = []
                    var index = worker
                    // Without work to wait for, 2,500 loads each make the baseline.
                    while work == nil ? samples.count < 2_500 : !done.isSet {
                        let start = ContinuousClock.now
                        _ = try await store.load(others[index % others.count].key)
                        samples.append((ContinuousClock.now - start) / .microseconds(1))
                        index += 8
                    }
                    return samples
                }
            }
            if let work {
              group.addTask {
                let start = ContinuousClock.now
                try await work()
                print("owner-benchmark work took \(ContinuousClock.now - start)")
                done.set()
                return []
              }
            }
            var all: [Double] = []
            for try await samples in group { all += samples }
            return Percentiles(all)
        }
    }

    static let wholeSetList = """
        local live = {}
        for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          local fields = redis.call('HMGET', ARGV[1] .. member, 'v', 'e', 'i')
          if fields[1] and tonumber(fields[2]) > tonumber(ARGV[3]) and fields[3] == ARGV[2] then live[#live + 1] = member end
        end
        return live
        """

    static let wholeSetDelete = """
        local deleted = 0
        for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
          deleted = deleted + redis.call('DEL', ARGV[1] .. member)
          redis.call('ZREM', KEYS[1], member)
        end
        return deleted
        """
}

/// `SESSIONKIT_BENCHMARK_OWNERS`, the owner's session count, when set.
let ownerBenchmarkSize: Int? = ProcessInfo.processInfo.environment["SESSIONKIT_BENCHMARK_OWNERS"].flatMap(Int.init)

/// p50, p99 and max of latencies in microseconds.
struct Percentiles: CustomStringConvertible {
    let count: Int
    let p50: Double
    let p99: Double
    let max: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        func at(_ fraction: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))] }
        p50 = at(0.5)
        p99 = at(0.99)
        max = sorted.last ?? 0
    }

    var description: String {
        "n=\(count) p50=\(Int(p50)) µs p99=\(Int(p99)) µs max=\(Int(max)) µs"
    }
}

/// A flag one task sets and others poll.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

extension RESPValue {
    fileprivate var arrayCount: Int {
        if case .array(let values) = self { values.count } else { -1 }
    }
}
#endif  // Redis
