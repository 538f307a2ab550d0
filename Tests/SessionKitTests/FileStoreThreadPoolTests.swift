import Foundation
import SessionKit
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Releases FIFOs from a Foundation `Thread`, outside Swift's cooperative pool,
/// so that a test whose cooperative threads are all blocked still ends.
private final class FIFORelease: Sendable {
    private let paths: [String]
    private let pool: BlockingThreadPool
    private let probeFinished = DispatchSemaphore(value: 0)
    private let descriptors = Mutex<[Int32]>([])
    private let released = Atomic<Bool>(false)
    private let poolWasBlocked = Atomic<Bool>(false)

    init(paths: [String], pool: BlockingThreadPool) {
        self.paths = paths
        self.pool = pool
    }

    /// Whether, before the FIFOs were released, every thread of the pool was
    /// running a load (which cannot finish before the release).
    var wasEveryPoolThreadBlocked: Bool { poolWasBlocked.load(ordering: .acquiring) }

    /// Whether the FIFOs have been opened for writing.
    var isReleased: Bool { released.load(ordering: .acquiring) }

    /// Starts the thread: it waits for ``probeDidFinish()`` (or, should the
    /// probe never run, a deadline that only bounds a failing test), checks that
    /// every pool thread is held by a load (with the same kind of bound), then
    /// opens every FIFO for writing, which lets each blocked `open` return.
    func start() {
        let thread = Thread { [self] in
            _ = probeFinished.wait(timeout: .now() + .seconds(20))
            let blocked = pool.waitUntilBusy(pool.threadCount, deadline: Date() + 20)
            poolWasBlocked.store(blocked, ordering: .releasing)
            released.store(true, ordering: .releasing)
            // `O_RDWR` on a FIFO never blocks on Linux and counts as a writer.
            let opened = paths.map { open($0, O_RDWR | O_NONBLOCK | O_CLOEXEC) }
            descriptors.withLock { $0 = opened }
        }
        thread.start()
    }

    func probeDidFinish() {
        probeFinished.signal()
    }

    func closeAll() {
        for descriptor in descriptors.withLock({ $0 }) where descriptor >= 0 { _ = close(descriptor) }
    }
}

@Suite struct FileStoreThreadPoolTests {
    /// The file store's system calls must not occupy Swift's cooperative pool:
    /// with more session files than the pool has threads turned into FIFOs (an
    /// `open` that blocks until a writer comes, like a hung disk or network
    /// mount), other async work still runs, and the blocked loads finish once
    /// the FIFOs get a writer.
    @Test func blockedFileCallsLeaveTheCooperativePoolFree() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pool = BlockingThreadPool(threadCount: 2, name: "sessionkit.test-io")
        let store = try FileStore(directory: directory, threadPool: pool)
        // More blocked calls than the cooperative pool (one thread per processor) or the store's pool has threads.
        let keys = (0..<max(ProcessInfo.processInfo.activeProcessorCount, pool.threadCount) + 2).map { _ in SessionToken.generate().key }
        let paths = keys.map { directory + "/" + $0.hex }
        for path in paths { try #require(mkfifo(path, 0o600) == 0) }
        let release = FIFORelease(paths: paths, pool: pool)
        defer { release.closeAll() }
        release.start()

        let (started, starting) = AsyncStream.makeStream(of: Void.self)
        let loads = Task {
            try await withThrowingTaskGroup(of: StoredSession?.self) { group in
                for key in keys {
                    group.addTask {
                        starting.yield()
                        return try await store.load(key)
                    }
                }
                return try await group.reduce(into: [StoredSession?]()) { $0.append($1) }
            }
        }
        // Every load has begun: blocked in `open`, or waiting for a thread that is.
        for await _ in started.prefix(keys.count) {}
        let probe = await Task.detached { release.isReleased }.value
        release.probeDidFinish()
        #expect(!probe, "an async task ran only after the FIFOs were released: file calls block the cooperative pool")

        // The loads still hold every thread of the store's pool until the FIFOs get a writer.
        let loaded = try await loads.value
        #expect(release.wasEveryPoolThreadBlocked)

        // A FIFO is not a session file: each load answers no session and removes it.
        #expect(loaded.count == keys.count)
        #expect(loaded.allSatisfy { $0 == nil })
        #expect(paths.allSatisfy { access($0, F_OK) != 0 })
    }
}
