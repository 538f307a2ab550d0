#if Vapor
import Synchronization
public import Vapor

/// Runs a store's background work (expiry sweeps, connection pools) while a
/// Vapor app runs, and cancels it when the app shuts down.
///
/// The work starts in its own task when the app boots and is cancelled (and,
/// with Vapor's async shutdown, awaited) at shutdown. It does not restart the
/// work when it fails; it logs the failure.
///
/// ```swift
/// let store = try FileStore(directory: "sessions")
/// app.sessionKit.engine = try SessionEngine(store: store)
/// app.lifecycle.use(SessionStoreLifecycleHandler(run: store.run))
/// ```
public final class SessionStoreLifecycleHandler: LifecycleHandler {
    private let body: @Sendable () async throws -> Void
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Creates the handler.
    ///
    /// - Parameter run: The store's `run()` method; it must return or throw
    ///   `CancellationError` when its task is cancelled.
    public init(run: @escaping @Sendable () async throws -> Void) {
        self.body = run
    }

    /// Starts the work, once.
    ///
    /// - Parameter application: The app that booted.
    public func didBoot(_ application: Application) throws {
        let body = self.body
        let logger = application.logger
        task.withLock { task in
            guard task == nil else { return }
            task = Task {
                do {
                    try await body()
                } catch is CancellationError {
                    // Cancellation is how shutdown ends the work; it is not a failure.
                } catch {
                    logger.error("session store background work failed: \(error)", metadata: ["sessionkit.reason": "background-task-failed"])
                }
            }
        }
    }

    /// Cancels the work without waiting for it to end.
    ///
    /// - Parameter application: The app that is shutting down.
    public func shutdown(_ application: Application) {
        task.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    /// Cancels the work and waits for it to end.
    ///
    /// - Parameter application: The app that is shutting down.
    public func shutdownAsync(_ application: Application) async {
        let running = task.withLock { task in
            defer { task = nil }
            return task
        }
        running?.cancel()
        await running?.value
    }
}
#endif  // Vapor
