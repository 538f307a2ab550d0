#if Hummingbird
public import ServiceLifecycle

/// Runs a store's background work (expiry sweeps) as a Hummingbird service,
/// ended by graceful shutdown.
///
/// For a store made in the app, beside an engine made by hand. ``SessionKitService``
/// does both from a driver in one value.
///
/// ```swift
/// let store = try FileStore(directory: "sessions")
/// let app = Application(router: router, services: [SessionStoreService(run: store.run)])
/// ```
public struct SessionStoreService: Service {
    private let body: @Sendable () async throws -> Void

    /// Creates the service.
    ///
    /// - Parameter run: The store's `run()` method; it must return or throw
    ///   `CancellationError` when its task is cancelled.
    public init(run: @escaping @Sendable () async throws -> Void) {
        self.body = run
    }

    /// Runs the store's work until graceful shutdown.
    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown(body)
        } catch is CancellationError {
            // Cancellation is how graceful shutdown ends the sweep; it is not a failure.
        }
    }
}
#endif  // Hummingbird
