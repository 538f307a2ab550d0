public import Logging

/// The periodic expiry sweep that every store's `run()` performs, written once.
///
/// It waits ``interval``, sweeps, and repeats until its task is cancelled, then
/// returns normally (so a store's `run()` can be a service that ends with the
/// server). A failed sweep is logged at `error` with the store's name and tried
/// again at the next interval: an outage of the backend does not end the loop.
public struct SessionStoreSweeper: Sendable {
    /// How long to wait between sweeps.
    public var interval: Duration
    /// The store's name, for the log line of a failed sweep.
    public var storeName: String
    /// Where a failed sweep is logged.
    public var logger: Logger

    /// Creates a sweeper.
    ///
    /// - Parameters:
    ///   - interval: How long to wait between sweeps.
    ///   - storeName: The store's name, for logs.
    ///   - logger: Where a failed sweep is logged.
    public init(interval: Duration, storeName: String, logger: Logger) {
        self.interval = interval
        self.storeName = storeName
        self.logger = logger
    }

    /// Runs `sweep` every ``interval`` until the calling task is cancelled.
    ///
    /// - Parameter sweep: Removes expired sessions and returns how many.
    public func run(_ sweep: () async throws -> Int) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                // `Task.sleep` only throws when the task is cancelled: that is the signal to stop.
                return
            }
            do {
                _ = try await sweep()
            } catch {
                if Task.isCancelled { return }
                logger.error(
                    "sweeping expired sessions failed; retrying in \(interval)",
                    metadata: ["sessionkit.store": "\(storeName)", "sessionkit.error": "\(error)"]
                )
            }
        }
    }
}
