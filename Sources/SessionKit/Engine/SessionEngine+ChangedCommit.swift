import Foundation
import Metrics

extension SessionEngine {
    /// Commits a session the request changed: through the session's lane in
    /// ``SessionCommitQueue``, so that concurrent requests of one session in this
    /// process write one after another, several in one store write.
    func commitChanged(_ member: SessionCommitQueue.Member) async throws -> SessionCommitResult {
        let key = member.loaded.token.key
        if let batch = commitQueue.leadIfIdle(key, member) {
            return try await lead(batch, key: key)
        }
        switch await commitQueue.wait(key, member) {
        case .finished(let result):
            metrics.coalesced.increment()
            return try result.get()
        case .lead(let batch):
            return try await lead(batch, key: key)
        }
    }

    /// Commits a batch as its leader, tells every other member its result and
    /// hands the lane on.
    private func lead(_ batch: SessionCommitQueue.Batch, key: SessionKey) async throws -> SessionCommitResult {
        let outcome: BatchOutcome
        do {
            outcome = try await commit(batch)
        } catch {
            if error is CancellationError {
                // The leader's task was cancelled, not the others': they go on without it.
                commitQueue.finish(key, written: nil, leftovers: Array(batch.waiters.dropFirst()))
            } else {
                // A store failure fails every member alike: each answers 503.
                commitQueue.finish(key, written: nil, leftovers: [])
                for waiter in batch.waiters.dropFirst() { waiter.continuation?.resume(returning: .finished(.failure(error))) }
            }
            throw error
        }
        let committed = batch.waiters.prefix(outcome.results.count)
        commitQueue.finish(key, written: outcome.written, leftovers: Array(batch.waiters.dropFirst(outcome.results.count)))
        for (waiter, result) in zip(committed, outcome.results).dropFirst() {
            waiter.continuation?.resume(returning: .finished(result))
        }
        return try outcome.results[0].get()
    }

    private struct BatchOutcome {
        /// One result per committed member, in batch order; the rest are left over.
        var results: [Result<SessionCommitResult, any Error>]
        var written: SessionCommitQueue.Written?
    }

    /// What each member of a batch is told when the session was removed by
    /// another request before the batch could save: a member that wrote fails
    /// with ``SessionStoreError/Code/sessionEnded`` (its write is lost, so it must
    /// not be answered as a success); one that only aged flash data lost nothing
    /// and is ``SessionCommitResult/Action/discarded``.
    private func endedResults(_ members: some Collection<SessionCommitQueue.Member>) -> [Result<SessionCommitResult, any Error>] {
        members.map { member in
            member.operations.isEmpty ? .success(SessionCommitResult(action: .discarded)) : .failure(sessionEnded())
        }
    }

    /// The payload after the batch's members, in order, each followed by its
    /// flash ageing, as if they had committed one after another. Stops after
    /// a member that empties the session: the ones after it find it gone.
    ///
    /// Each member ages only the flash keys it saw (``SessionPayload/ageFlash(seeing:)``):
    /// a message flashed by a request that committed after this one loaded is
    /// left for the next request, not removed unseen.
    private func fold(_ members: [SessionCommitQueue.Member], onto base: SessionPayload?) -> (payload: SessionPayload, count: Int) {
        var payload: SessionPayload
        var members = members[...]
        if let base {
            payload = base
        } else {
            // The first member's own payload is its loaded record with its changes applied.
            let first = members.removeFirst()
            payload = first.current
            payload.ageFlash(seeing: first.seenFlashKeys)
            if payload.isEmpty { return (payload, 1) }
        }
        var count = base == nil ? 1 : 0
        for member in members {
            for operation in member.operations { payload.apply(operation) }
            payload.ageFlash(seeing: member.seenFlashKeys)
            count += 1
            if payload.isEmpty { break }
        }
        return (payload, count)
    }

    private func commit(_ batch: SessionCommitQueue.Batch) async throws -> BatchOutcome {
        var members = batch.waiters.map(\.member)
        let leader = members[0].loaded
        let key = leader.token.key
        let now = clock.now()
        var (payload, count) = fold(members, onto: batch.base?.payload)
        var version = batch.base?.version ?? leader.stored.version
        var attempt = 0
        while true {
            members.removeLast(members.count - count)
            if payload.isEmpty {
                // Retire the record by compare-and-swap before deleting it, as regenerate
                // does: a write that landed meanwhile is replayed on, not deleted with it.
                let retired = SessionRecord(key: key, data: [], expiresAt: Date(timeIntervalSince1970: 0))
                if case .saved = try await performSave(retired, expecting: version, to: serverStore) {
                    try await deleteRecord(key)
                    metrics.deleted.increment()
                    let result = SessionCommitResult(action: .deleted, setCookies: expiredCookies())
                    return BatchOutcome(results: Array(repeating: .success(result), count: count), written: nil)
                }
            } else {
                let createdAt = Date(timeIntervalSince1970: payload.createdAt)
                let expiresAt = configuration.expiry.expiry(createdAt: createdAt, now: now)
                let encoding = try encoded(payload, under: key)
                let record = SessionRecord(key: key, data: encoding.bytes, expiresAt: expiresAt, owner: payload.owner)
                if case .saved(let written) = try await performSave(record, expecting: version, to: serverStore) {
                    if encoding.readsBackIdentical { decodedRecords.remember(payload, data: record.data, under: key) }
                    let results = members.map { Result<SessionCommitResult, any Error>.success(savedResult(for: $0.loaded, payload: payload, expiresAt: expiresAt, now: now)) }
                    return BatchOutcome(results: results, written: .init(payload: payload, version: written))
                }
            }
            // Lost to another process: replay every member's changes on its record.
            guard let fresh = try await reloadAfterConflict(key, attempt: &attempt) else {
                // Removed by another request (a logout, a revoke, or a regenerate at
                // login, whose new record this request must not write into: a
                // pre-login cookie would write into the signed-in session).
                return BatchOutcome(results: endedResults(members.prefix(count)), written: nil)
            }
            (payload, count) = fold(members, onto: fresh.payload)
            version = fresh.version
        }
    }

    /// A member's result once the batch saved `payload`: its cookies are
    /// refreshed when the expiry moved far enough past what it loaded, or its
    /// `XSRF-TOKEN` when the CSRF secret changed.
    private func savedResult(for loaded: LoadedSession, payload: SessionPayload, expiresAt: Date, now: Date) -> SessionCommitResult {
        let moved = expiresAt.timeIntervalSince(loaded.stored.record.expiresAt) >= configuration.expiry.touchInterval.seconds
        var cookies: [String] = []
        if moved {
            cookies = refreshedCookies(loaded.token, secret: payload.csrfSecret, expiresAt: expiresAt, now: now)
        } else if payload.csrfSecret != loaded.payload.csrfSecret {
            cookies = xsrfCookie(secret: payload.csrfSecret, expiresAt: expiresAt, now: now)
        }
        return SessionCommitResult(action: .saved, token: loaded.token, expiresAt: expiresAt, setCookies: cookies)
    }
}
