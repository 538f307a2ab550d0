public import Foundation
public import SessionKit
import Synchronization

/// A ``SessionKit/SessionClock`` that moves only when told to, for testing expiry
/// without sleeping.
///
/// Give the same clock to the store or engine under test and to the test, then
/// call ``advance(by:)`` to let time pass. It is safe to use from many tasks at
/// once. It is test support: never use it in production, where sessions would
/// stop expiring.
///
/// ```swift
/// let clock = ManualClock()
/// let store = try MemoryStore(clock: clock)
/// // ... save a record that expires in 30 minutes ...
/// clock.advance(by: .seconds(31 * 60))
/// #expect(store.sweepExpired() == 1)
/// ```
public final class ManualClock: SessionClock {
    private let current: Mutex<Date>

    /// Creates a clock stopped at `now`.
    ///
    /// - Parameter now: The starting time. Defaults to a fixed moment
    ///   (2023-11-14T22:13:20Z), so tests do not depend on when they run.
    public init(now: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.current = Mutex(now)
    }

    /// The clock's current time.
    public func now() -> Date {
        current.withLock { $0 }
    }

    /// Moves the clock forward.
    ///
    /// - Parameter duration: How far to move; must not be negative.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "ManualClock only moves forward")
        current.withLock { $0 += duration / .seconds(1) }
    }
}
