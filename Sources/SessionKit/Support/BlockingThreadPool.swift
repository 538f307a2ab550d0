package import Foundation

/// A few dedicated threads for system calls that block, such as the
/// ``FileStore``'s `open`, `read`, `write`, `fsync` and `flock`.
///
/// Swift's cooperative pool has one thread per processor, and a task that
/// blocks in a system call holds its thread until the call returns: a handful
/// of calls stuck on a slow disk would stop every other task of the process,
/// including a server's request handling. Work given to ``run(_:)`` runs on one
/// of this pool's threads instead, and the calling task is suspended (its
/// cooperative thread freed) until the work returns.
///
/// The threads start lazily, one at a time as work arrives and no thread is
/// idle, up to ``threadCount``; they then live as long as the process. Work is
/// taken in the order it was given. The pool does not cancel work: a call
/// already running finishes, and a cancelled task still waits for it.
package final class BlockingThreadPool: @unchecked Sendable {
    // `@unchecked Sendable` is sound because every stored `var` below (`jobs`,
    // `head`, `startedThreads`, `idleThreads`, `busyThreads`, `busyWaiters`) is
    // read and written only between `condition.lock()` and `condition.unlock()`,
    // and `NSCondition` is itself safe to use from any thread; `threadCount`
    // and `name` are constants.

    typealias Job = @Sendable () -> Void

    /// The process-wide pool of the file stores: as many threads as processors,
    /// at least 4 and at most 16.
    static let shared = BlockingThreadPool(
        threadCount: min(max(ProcessInfo.processInfo.activeProcessorCount, 4), 16),
        name: "sessionkit.blocking-io"
    )

    /// The most threads the pool starts.
    package let threadCount: Int
    private let name: String

    private let condition = NSCondition()
    /// Jobs not yet taken, from `head` on; the ones before `head` are taken.
    private var jobs: [Job?] = []
    private var head = 0
    private var startedThreads = 0
    private var idleThreads = 0
    private var busyThreads = 0
    private var busyWaiters = 0

    /// Creates a pool; no thread starts until the first ``run(_:)``.
    ///
    /// - Parameters:
    ///   - threadCount: The most threads the pool starts; at least 1.
    ///   - name: The threads' name, seen in debuggers and crash reports.
    package init(threadCount: Int, name: String = "sessionkit.blocking-io") {
        precondition(threadCount >= 1, "a thread pool needs at least one thread")
        self.threadCount = threadCount
        self.name = name
    }

    /// Runs `body` on one of the pool's threads and returns its result, suspending
    /// the calling task (not blocking its thread) meanwhile.
    ///
    /// - Parameter body: The blocking work.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            submit { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Waits, blocking the calling thread, until `count` of the pool's threads
    /// are running work at once, or until `deadline`. For tests, from a thread of
    /// their own: never call it from a task.
    ///
    /// - Returns: Whether `count` threads were busy before the deadline.
    package func waitUntilBusy(_ count: Int, deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        busyWaiters += 1
        defer { busyWaiters -= 1 }
        while busyThreads < count {
            guard condition.wait(until: deadline) else { return busyThreads >= count }
        }
        return true
    }

    private func submit(_ job: @escaping Job) {
        condition.lock()
        jobs.append(job)
        let waitingJobs = jobs.count - head
        let startsThread = waitingJobs > idleThreads && startedThreads < threadCount
        if startsThread { startedThreads += 1 }
        // A test may wait on the same condition: wake everyone then, so a
        // worker's wake-up cannot be taken by that waiter.
        if busyWaiters > 0 { condition.broadcast() } else { condition.signal() }
        condition.unlock()
        if startsThread {
            let thread = Thread { [self] in work() }
            thread.name = name
            thread.start()
        }
    }

    /// A thread's loop: take the oldest job, run it outside the lock, repeat.
    private func work() {
        condition.lock()
        while true {
            while head == jobs.count {
                idleThreads += 1
                condition.wait()
                idleThreads -= 1
            }
            let job = jobs[head]!
            jobs[head] = nil
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 64 && head * 2 >= jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            busyThreads += 1
            if busyWaiters > 0 { condition.broadcast() }
            condition.unlock()
            job()
            condition.lock()
            busyThreads -= 1
        }
    }
}
