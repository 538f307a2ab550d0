import Synchronization

/// Counts an engine's store operations in flight and refuses one past the limit.
///
/// A refusal is immediate: nothing queues here, so a store that stops answering
/// holds at most `limit` requests (each bounded by the store's own timeout) and
/// every further request is answered 503 at once.
final class InFlightLimiter: Sendable {
    let limit: Int
    private let count = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot; `false` when `limit` operations are already in flight.
    func acquire() -> Bool {
        let (_, now) = count.add(1, ordering: .relaxed)
        guard now <= limit else {
            count.subtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    /// Gives back a slot taken by ``acquire()``.
    func release() {
        count.subtract(1, ordering: .relaxed)
    }

    /// The operations in flight now.
    var current: Int { count.load(ordering: .relaxed) }
}
