#if Redis
import Foundation
import SessionKit
import Synchronization
import Testing

@testable import SessionKitRedis

/// The store on a cluster of its own while `redis-cli --cluster reshard` moves
/// slots and then a master is SIGKILLed, with sessions incremented without
/// pause throughout: no acknowledged save may be lost. The store-level twin of
/// Tests/integration/test_redis_cluster.py (which drives the demo over HTTP).
///
/// Opt-in, as it takes about half a minute and six more redis-server
/// processes: `SESSIONKIT_CLUSTER_CHAOS=1` (it starts and stops its own cluster
/// with scripts/lib/servers.sh). Figures are printed.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SESSIONKIT_CLUSTER_CHAOS"] == "1", "SESSIONKIT_CLUSTER_CHAOS=1 runs it"))
struct RedisClusterChaosTests {
    /// Runs a shell command from the repository's root; returns its standard output.
    @discardableResult
    private func shell(_ script: String, _ arguments: [String] = []) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script, "_"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        // A file, not a pipe: the daemonized redis-server processes would keep a pipe open.
        let outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-chaos-\(UUID().uuidString).out")
        FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outputURL) }
        let output = try FileHandle(forWritingTo: outputURL)
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        process.waitUntilExit()
        try output.close()
        let data = try Data(contentsOf: outputURL)
        guard process.terminationStatus == 0 else { throw TestFailure("`\(script)` exited with \(process.terminationStatus)") }
        return String(decoding: data, as: UTF8.self)
    }

    private struct Node {
        var id: String
        var port: Int
        var isMaster: Bool
        var failed: Bool
        var slots: Int
    }

    private func nodes(_ port: Int) throws -> [Node] {
        try shell("redis-cli -p \"$1\" cluster nodes", [String(port)]).split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 8, let port = Int(fields[1].split(separator: "@")[0].split(separator: ":").last ?? "") else { return nil }
            var slots = 0
            for range in fields.dropFirst(8) where !range.hasPrefix("[") {
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                slots += bounds.count == 2 ? bounds[1] - bounds[0] + 1 : 1
            }
            return Node(id: fields[0], port: port, isMaster: fields[2].contains("master"), failed: fields[2].contains("fail"), slots: slots)
        }
    }

    private final class Tally: Sendable {
        struct Counts {
            var ok = 0
            var failed: [String: Int] = [:]
        }
        let counts = Mutex(Counts())
        func record(_ outcome: String?) {
            counts.withLock { counts in
                if let outcome { counts.failed[outcome, default: 0] += 1 } else { counts.ok += 1 }
            }
        }
        func take() -> Counts { counts.withLock { counts in defer { counts = Counts() }; return counts } }
    }

    @Test func reshardAndMasterKillUnderLoadLoseNoAcknowledgedSave() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-chaos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = try shell(". scripts/lib/servers.sh && start_redis_cluster \"$1\"", [folder.path])
            .split(separator: "\n").last.map(String.init) ?? ""
        defer { _ = try? shell(". scripts/lib/servers.sh && stop_servers \"$1\" && rm -rf \"$1\"", [folder.path]) }
        let ports = try String(contentsOf: folder.appendingPathComponent("redis-cluster/ports"), encoding: .utf8)
            .split(separator: "\n").compactMap { Int($0) }
        #expect(url.hasPrefix("redis-cluster://"))

        var configuration = RedisStore.Configuration()
        configuration.topology = .cluster(seeds: ports.map { RedisStore.Endpoint(host: "127.0.0.1", port: $0) })
        let store = try RedisStore(configuration: configuration)
        let sessions = 48
        let owners = 6
        // Each session's data is its counter, as decimal text; `acknowledged` is the last saved value.
        final class Shared: Sendable {
            let stop = Mutex(false)
                let acknowledged: Mutex<[Int]>
            init(_ count: Int) { acknowledged = Mutex([Int](repeating: 0, count: count)) }
        }
        let shared = Shared(sessions)
        var keys: [SessionKey] = []
        for index in 0..<sessions {
            let key = SessionToken.generate().key
            let record = SessionRecord(key: key, data: Array("0".utf8), expiresAt: Date() + 3600, owner: "chaos-owner-\(index % owners)")
            #expect(try await store.save(record, expecting: nil) == .saved(.initial))
            keys.append(key)
        }
        let tally = Tally()
        let load = Task { [keys] in
            await withTaskGroup(of: Void.self) { group in
                for (index, key) in keys.enumerated() {
                    group.addTask {
                        while !shared.stop.withLock({ $0 }) {
                            do {
                                guard let stored = try await store.load(key) else {
                                    tally.record("missing")
                                    try? await Task.sleep(for: .milliseconds(20))
                                    continue
                                }
                                let count = Int(String(decoding: stored.record.data, as: UTF8.self)) ?? -1
                                var record = stored.record
                                record.data = Array(String(count + 1).utf8)
                                switch try await store.save(record, expecting: stored.version) {
                                case .saved:
                                    shared.acknowledged.withLock { $0[index] = max($0[index], count + 1) }
                                    tally.record(nil)
                                case .conflict:
                                    tally.record("conflict")
                                }
                            } catch let error as SessionStoreError {
                                tally.record("\(error.code)")
                                try? await Task.sleep(for: .milliseconds(20))
                            } catch {
                                tally.record("other")
                            }
                        }
                    }
                }
            }
        }
        let clock = ContinuousClock()
        try await Task.sleep(for: .seconds(3))
        let before = tally.take()

        // 1. Reshard 2,000 slots from the biggest master to another.
        let masters = try nodes(ports[0]).filter { $0.isMaster && !$0.failed }.sorted { $0.slots > $1.slots }
        let reshardStart = clock.now
        try shell(
            "redis-cli --cluster reshard 127.0.0.1:\"$1\" --cluster-from \"$2\" --cluster-to \"$3\" --cluster-slots 2000 --cluster-yes >/dev/null",
            [String(ports[0]), masters[0].id, masters[1].id]
        )
        let reshardSeconds = clock.now - reshardStart
        let duringReshard = tally.take()
        try await Task.sleep(for: .seconds(2))
        _ = tally.take()

        // 2. SIGKILL the master holding the most slots; wait for its replica to take over.
        let victim = try #require(try nodes(ports[0]).filter { $0.isMaster && !$0.failed }.max { $0.slots < $1.slots })
        let survivor = try #require(ports.first { $0 != victim.port })
        let pid = try String(contentsOf: folder.appendingPathComponent("redis-cluster/\(victim.port)/redis.pid"), encoding: .utf8)
        let killed = clock.now
        try shell("kill -9 \"$1\"", [pid.trimmingCharacters(in: .whitespacesAndNewlines)])
        while clock.now - killed < .seconds(60) {
            let view = try nodes(survivor)
            let info = try shell("redis-cli -p \"$1\" cluster info", [String(survivor)])
            if view.contains(where: { $0.id == victim.id && $0.failed }), info.contains("cluster_state:ok"),
                view.filter({ $0.isMaster && !$0.failed && $0.slots > 0 }).count == 3
            {
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let failoverSeconds = clock.now - killed
        let duringFailover = tally.take()
        try await Task.sleep(for: .seconds(4))
        shared.stop.withLock { $0 = true }
        await load.value
        let after = tally.take()

        var lost = 0
        var missing = 0
        for (index, key) in keys.enumerated() {
            guard let stored = try await store.load(key) else {
                missing += 1
                continue
            }
            let count = Int(String(decoding: stored.record.data, as: UTF8.self)) ?? -1
            lost += max(0, shared.acknowledged.withLock { $0[index] } - count)
        }
        var unlisted = 0
        for owner in 0..<owners {
            let listed = Set(try await store.sessions(of: "chaos-owner-\(owner)").map(\.record.key))
            unlisted += keys.enumerated().filter { $0.offset % owners == owner && !listed.contains($0.element) }.count
        }
        print(
            """
            [redis-cluster chaos] sessions=\(sessions) owners=\(owners)
              before: ok=\(before.ok) failed=\(before.failed)
              reshard of 2000 slots: \(reshardSeconds) ok=\(duringReshard.ok) failed=\(duringReshard.failed)
              master kill until a replica took over: \(failoverSeconds) ok=\(duringFailover.ok) failed=\(duringFailover.failed)
              after: ok=\(after.ok) failed=\(after.failed)
              lost increments=\(lost) missing sessions=\(missing) sessions missing from their owner's listing=\(unlisted)
            """
        )
        #expect(lost == 0)
        #expect(missing == 0)
        #expect(unlisted == 0)
        for counts in [before, duringReshard, duringFailover, after] {
            #expect(Set(counts.failed.keys).isSubset(of: ["unavailable", "timedOut", "conflict"]), "\(counts.failed)")
        }
        await store.shutdown()
    }
}
#endif  // Redis
