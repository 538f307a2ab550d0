#if Vapor
import NIOCore

/// Runs a task's jobs on one NIO event loop.
///
/// A task started with this executor as its preference runs on the request's
/// event loop from start to end: awaiting a future of that loop, or a store
/// call that completes there, resumes without a hop to another thread and back.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
#endif  // Vapor
