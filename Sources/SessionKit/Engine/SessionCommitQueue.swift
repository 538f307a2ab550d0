import Foundation
import Synchronization

/// One lane per session key for the commits of changed sessions inside one
/// engine: while a commit of a session is at the store, later commits of the
/// same session wait, and the next of them saves all their changes at once.
///
/// Without it, concurrent requests on one session race each other at the
/// store: all but one lose the compare-and-swap, sleep, reload and replay —
/// measured at 1.1–1.8 conflicts per save with 32 connections on one session.
/// With it, requests inside one process never conflict with each other (only
/// with other processes), and `n` waiting requests cost one store write.
///
/// The lane holds no session data once it is idle: it exists only while a
/// commit of that key is in flight. The leader of a batch hands its lane to the
/// first waiter when it is done, passing on the record it wrote, so the next
/// batch starts from a known version without reloading.
final class SessionCommitQueue: Sendable {
    /// A request's commit: what it loaded and what it changed.
    struct Member: Sendable {
        var loaded: SessionEngine.LoadedSession
        var operations: [SessionOperation]
        /// The request's payload with its own changes, before flash ageing.
        var current: SessionPayload

        /// The flash keys this request saw, the only ones its flash ageing removes.
        var seenFlashKeys: Set<String> {
            SessionPayload.flashKeysSeen(loaded: loaded.payload, operations: operations)
        }
    }

    /// A member with the continuation that wakes it; `nil` for the request that
    /// found the lane idle and leads without waiting.
    struct Waiter: Sendable {
        var member: Member
        var continuation: CheckedContinuation<Turn, Never>?
    }

    /// A record this process has just written: the next batch starts from it.
    struct Written: Sendable {
        var payload: SessionPayload
        var version: SessionVersion
    }

    /// The members to commit together, oldest first; the first one leads.
    struct Batch: Sendable {
        var waiters: [Waiter]
        /// The record the previous batch wrote, when it wrote one.
        var base: Written?
    }

    /// What a waiting request is told when it wakes.
    enum Turn: Sendable {
        /// Commit this batch (the waiter is its first member).
        case lead(Batch)
        /// Another request committed this one's changes; here is its result.
        case finished(Result<SessionCommitResult, any Error>)
    }

    /// Requests queued behind the one in flight, per key; a key is present
    /// exactly while a batch of it is being committed.
    private let lanes = Mutex<[SessionKey: [Waiter]]>([:])

    /// The most members one store write carries; the rest wait for the next.
    static let maximumBatchSize = 64

    /// Joins the lane of `key` and returns the batch to lead, when no commit of the
    /// key is in flight; `nil` otherwise. Synchronous, so the usual case (nobody
    /// else committing this session) costs a lock and no suspension point.
    func leadIfIdle(_ key: SessionKey, _ member: Member) -> Batch? {
        let isIdle = lanes.withLock { lanes in
            guard lanes[key] == nil else { return false }
            lanes[key] = []
            return true
        }
        return isIdle ? Batch(waiters: [Waiter(member: member, continuation: nil)], base: nil) : nil
    }

    /// Waits in the lane of `key` to be handed a batch or a result (or leads at
    /// once if the commit in flight finished meanwhile).
    func wait(_ key: SessionKey, _ member: Member) async -> Turn {
        await withCheckedContinuation { continuation in
            let leadsNow = lanes.withLock { lanes in
                // The batch in flight may have finished between the two locks.
                guard lanes[key] != nil else {
                    lanes[key] = []
                    return true
                }
                lanes[key]!.append(Waiter(member: member, continuation: continuation))
                return false
            }
            if leadsNow {
                continuation.resume(returning: .lead(Batch(waiters: [Waiter(member: member, continuation: nil)], base: nil)))
            }
        }
    }

    /// Ends the batch in flight: hands the lane, with `written` as the next
    /// base, to the oldest of `leftovers` and the requests that queued
    /// meanwhile, or closes it when none is waiting.
    ///
    /// - Parameters:
    ///   - key: The session's key.
    ///   - written: The record the batch wrote, or `nil` when it wrote none
    ///     (failed, discarded or deleted the session).
    ///   - leftovers: Members of the batch it did not commit; they go first.
    func finish(_ key: SessionKey, written: Written?, leftovers: [Waiter]) {
        let next: Batch? = lanes.withLock { lanes in
            let waiting = leftovers + (lanes[key] ?? [])
            guard !waiting.isEmpty else {
                lanes[key] = nil
                return nil
            }
            let count = min(waiting.count, Self.maximumBatchSize)
            lanes[key] = Array(waiting.dropFirst(count))
            return Batch(waiters: Array(waiting.prefix(count)), base: written)
        }
        guard let next else { return }
        // Only the leader of a first batch has no continuation, and it never waits again.
        next.waiters[0].continuation?.resume(returning: .lead(next))
    }
}
