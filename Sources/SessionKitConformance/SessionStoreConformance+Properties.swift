public import SessionKit
import Synchronization

import struct Foundation.Date

extension SessionStoreConformance {
    /// One call a handler makes on its ``SessionKit/RequestSession``, for property tests.
    ///
    /// It covers the Laravel-style API except `regenerate` and `invalidate`,
    /// which move the session to another token (the conformance checks cover
    /// those with fixed scenarios).
    public enum SessionCall: Sendable, Hashable, CustomStringConvertible {
        /// ``SessionKit/RequestSession/put(_:_:)``.
        case put(String, SessionValue)
        /// ``SessionKit/RequestSession/put(_:)``, several keys at once.
        case putMany([String: SessionValue])
        /// ``SessionKit/RequestSession/increment(_:by:)``.
        case increment(String, by: Int64)
        /// ``SessionKit/RequestSession/decrement(_:by:)``.
        case decrement(String, by: Int64)
        /// ``SessionKit/RequestSession/push(_:_:)``.
        case push(String, SessionValue)
        /// ``SessionKit/RequestSession/forget(_:)-(String)``.
        case forget(String)
        /// ``SessionKit/RequestSession/forget(_:)-([String])``, several keys at once.
        case forgetMany([String])
        /// ``SessionKit/RequestSession/pull(_:default:)``.
        case pull(String)
        /// ``SessionKit/RequestSession/flush()``.
        case flush
        /// ``SessionKit/RequestSession/flash(_:_:)``.
        case flash(String, SessionValue)
        /// ``SessionKit/RequestSession/now(_:_:)``.
        case now(String, SessionValue)
        /// ``SessionKit/RequestSession/reflash()``.
        case reflash
        /// ``SessionKit/RequestSession/keep(_:)``.
        case keep([String])

        /// Makes the call on `session`.
        ///
        /// - Parameter session: The request's session.
        public func apply(to session: RequestSession) {
            switch self {
            case .put(let key, let value): session.put(key, value)
            case .putMany(let values): session.put(values)
            case .increment(let key, let amount): session.increment(key, by: amount)
            case .decrement(let key, let amount): session.decrement(key, by: amount)
            case .push(let key, let value): session.push(key, value)
            case .forget(let key): session.forget(key)
            case .forgetMany(let keys): session.forget(keys)
            case .pull(let key): session.pull(key)
            case .flush: session.flush()
            case .flash(let key, let value): session.flash(key, value)
            case .now(let key, let value): session.now(key, value)
            case .reflash: session.reflash()
            case .keep(let keys): session.keep(keys)
            }
        }

        /// The call as Swift source, for example `put("a", [1,"x"])`.
        public var description: String {
            func text(_ key: String) -> String { describe(key) }
            func list(_ keys: [String]) -> String { "[" + keys.map(text).joined(separator: ", ") + "]" }
            switch self {
            case .put(let key, let value): return "put(\(text(key)), \(value.jsonText))"
            case .putMany(let values): return "put(\(SessionValue.object(values).jsonText))"
            case .increment(let key, let amount): return "increment(\(text(key)), by: \(amount))"
            case .decrement(let key, let amount): return "decrement(\(text(key)), by: \(amount))"
            case .push(let key, let value): return "push(\(text(key)), \(value.jsonText))"
            case .forget(let key): return "forget(\(text(key)))"
            case .forgetMany(let keys): return "forget(\(list(keys)))"
            case .pull(let key): return "pull(\(text(key)))"
            case .flush: return "flush()"
            case .flash(let key, let value): return "flash(\(text(key)), \(value.jsonText))"
            case .now(let key, let value): return "now(\(text(key)), \(value.jsonText))"
            case .reflash: return "reflash()"
            case .keep(let keys): return "keep(\(list(keys)))"
            }
        }
    }

    /// Two requests on one session, for ``checkConcurrentRequestsLinearize(_:store:engines:otherStore:)``.
    ///
    /// A first request creates the session and makes the ``initial`` calls; then
    /// requests A and B both load it, make their calls and commit at the same time.
    public struct ConcurrentRequests: Sendable, Hashable, CustomStringConvertible {
        /// The calls of the request that creates the session.
        public var initial: [SessionCall]
        /// Request A's calls.
        public var requestA: [SessionCall]
        /// Request B's calls.
        public var requestB: [SessionCall]
        /// Whether the engines give sessions a CSRF secret (mode `originAndToken`);
        /// without one (mode `originOnly`), removing every value empties the session,
        /// so it is deleted.
        public var hasCSRFSecret: Bool
        /// Whether the first store write of the two commits is held until the other
        /// commit has started: on one engine the other then queues behind it and
        /// saves on top of the record it wrote; on two engines the other saves
        /// first and the held one loses the compare-and-swap and replays. Without
        /// the hold, the two commits simply race.
        public var holdsFirstSave: Bool

        /// Creates a pair of requests.
        ///
        /// - Parameters:
        ///   - initial: The calls of the request that creates the session.
        ///   - requestA: Request A's calls.
        ///   - requestB: Request B's calls.
        ///   - hasCSRFSecret: Whether sessions carry a CSRF secret.
        ///   - holdsFirstSave: Whether the first store write is held until the other commit has started.
        public init(
            initial: [SessionCall],
            requestA: [SessionCall],
            requestB: [SessionCall],
            hasCSRFSecret: Bool = true,
            holdsFirstSave: Bool = false
        ) {
            self.initial = initial
            self.requestA = requestA
            self.requestB = requestB
            self.hasCSRFSecret = hasCSRFSecret
            self.holdsFirstSave = holdsFirstSave
        }

        /// Random requests of up to five calls each.
        ///
        /// - Parameter generator: The source of randomness.
        /// - Returns: The requests.
        public static func random(using generator: inout some RandomNumberGenerator) -> Self {
            Self(
                initial: RandomInput.calls(using: &generator),
                requestA: RandomInput.calls(using: &generator),
                requestB: RandomInput.calls(using: &generator),
                hasCSRFSecret: Bool.random(using: &generator),
                holdsFirstSave: Bool.random(using: &generator)
            )
        }

        /// Strictly simpler requests: one call fewer or one call simplified, in any of the three requests.
        public var simpler: [Self] {
            var candidates: [Self] = []
            for calls in RandomInput.simplerCallLists(than: initial) { candidates.append(with { $0.initial = calls }) }
            for calls in RandomInput.simplerCallLists(than: requestA) { candidates.append(with { $0.requestA = calls }) }
            for calls in RandomInput.simplerCallLists(than: requestB) { candidates.append(with { $0.requestB = calls }) }
            return candidates
        }

        private func with(_ change: (inout Self) -> Void) -> Self {
            var copy = self
            change(&copy)
            return copy
        }

        /// The three requests' calls, the CSRF mode and the schedule.
        public var description: String {
            func list(_ calls: [SessionCall]) -> String { "[" + calls.map(\.description).joined(separator: ", ") + "]" }
            return "initial: \(list(initial)), A: \(list(requestA)), B: \(list(requestB)), CSRF secret: \(hasCSRFSecret), "
                + "first save held: \(holdsFirstSave)"
        }
    }

    /// How many engines serve the two concurrent requests.
    public enum EngineLayout: Sendable, Hashable, CustomStringConvertible {
        /// Both requests go through one engine, as on one app server.
        case oneEngine
        /// Each request goes through its own engine over the same store, as on two
        /// app servers: the commits meet only in the store's compare-and-swap.
        case twoEngines

        /// `one engine` or `two engines`.
        public var description: String {
            switch self {
            case .oneEngine: return "one engine"
            case .twoEngines: return "two engines"
            }
        }
    }

    /// Checks that two concurrent requests on one session end as if they had run
    /// one after the other, in one order or the other (the replay-on-conflict
    /// guarantee, and the engine's queue of commits per session).
    ///
    /// A request creates the session with `requests.initial`. Requests A and B
    /// both load it, make their calls, and commit at once (`async let`). The
    /// stored record afterwards must equal what running A then B, or B then A,
    /// one at a time gives; the reference runs on a ``SessionKit/MemoryStore``
    /// holding a copy of the initial record. When the first request of a serial
    /// order removes the session, the second one's changes are dropped (its
    /// commit fails with `sessionEnded` in the concurrent run), so "no session" is the
    /// outcome of that order. Compared are the values, exactly (strings byte for
    /// byte, doubles bit for bit), the flash marks (as sets) and the owner.
    ///
    /// Flash ageing is per request, on what the request loaded (as in Laravel):
    /// the second request of a serial order did not see, in the concurrent run,
    /// what the first one flashed, so it leaves those keys for the next request
    /// instead of removing them. The reference models that; see
    /// `serialOutcome(of:from:token:csrfMode:)`.
    ///
    /// - Parameters:
    ///   - requests: The calls of the three requests.
    ///   - store: The store under test, with compare-and-swap.
    ///   - engines: Whether A and B share one engine or have one each.
    ///   - otherStore: With ``EngineLayout/twoEngines``, the store B's engine uses:
    ///     another instance over the same data (its own connections), as a second
    ///     app server has. Defaults to `store`.
    /// - Throws: ``ConformanceFailure`` naming the calls, both serial outcomes and
    ///   the actual one; or the store's error.
    public static func checkConcurrentRequestsLinearize(
        _ requests: ConcurrentRequests,
        store: any SessionStore,
        engines: EngineLayout,
        otherStore: (any SessionStore)? = nil
    ) async throws {
        do {
            try await runConcurrentRequests(requests, store: store, engines: engines, otherStore: otherStore)
        } catch var failure as ConformanceFailure {
            failure.check = "concurrent requests on one session end as one serial order (\(engines))"
            throw failure
        }
    }

    private static func runConcurrentRequests(
        _ requests: ConcurrentRequests,
        store: any SessionStore,
        engines: EngineLayout,
        otherStore: (any SessionStore)?
    ) async throws {
        let csrfMode: CSRFConfiguration.Mode = requests.hasCSRFSecret ? .originAndToken : .originOnly
        let hold = SaveHold()
        let engineA = try propertyEngine(HeldSaveStore(store, hold: hold), csrfMode: csrfMode)
        let engineB =
            engines == .oneEngine ? engineA : try propertyEngine(HeldSaveStore(otherStore ?? store, hold: hold), csrfMode: csrfMode)

        let seed = try await engineA.load(cookieHeader: nil)
        seed.start()
        for call in requests.initial { call.apply(to: seed) }
        let created = try await engineA.commit(seed)
        let token = try token(of: created)
        guard let initialRecord = try await store.load(token.key) else {
            throw fail("the session created with \(requests.initial) is not in the store")
        }

        let sessionA = try await engineA.load(token: token)
        let sessionB = try await engineB.load(token: token)
        try expect(sessionA.isLoaded && sessionB.isLoaded, "the session did not load in both requests")
        for call in requests.requestA { call.apply(to: sessionA) }
        for call in requests.requestB { call.apply(to: sessionB) }
        if requests.holdsFirstSave { hold.holdNextSave() }
        async let committedA = commitAllowingEnded(sessionA, engineA)
        if requests.holdsFirstSave { await hold.waitForHeldSave() }
        async let committedB = commitAllowingEnded(sessionB, engineB)
        if requests.holdsFirstSave {
            // Give B's commit time to reach the engine's queue (one engine) or the
            // store (two engines) before A's write goes on. Whether it got there is
            // not checked: any interleaving must give a serial outcome.
            for _ in 0..<50 { await Task.yield() }
            hold.release()
        }
        let (resultA, resultB) = try await (committedA, committedB)
        for (name, result) in [("A", resultA), ("B", resultB)] {
            try expect(
                result.token == nil || result.token == token,
                "request \(name)'s commit did \(result.action) and moved the session to another token; \(requests)"
            )
        }

        let actual = try await storedContent(token.key, in: store)
        let aThenB = try await serialOutcome(
            of: [requests.requestA, requests.requestB],
            from: initialRecord.record,
            token: token,
            csrfMode: csrfMode
        )
        let bThenA = try await serialOutcome(
            of: [requests.requestB, requests.requestA],
            from: initialRecord.record,
            token: token,
            csrfMode: csrfMode
        )
        try expect(
            isSame(actual, aThenB) || isSame(actual, bThenA),
            """
            two concurrent requests ended in a state no serial order gives
              calls: \(requests)
              commits: A did \(resultA.action), B did \(resultB.action)
              A then B gives: \(describe(aThenB))
              B then A gives: \(describe(bThenA))
              actual:         \(describe(actual))
            """
        )
    }

    /// Holds the next store write of either engine until released.
    private final class SaveHold: Sendable {
        private struct State {
            var isArmed = false
            var isHolding = false
            var waiting: CheckedContinuation<Void, Never>?
        }

        private let state = Mutex(State())

        /// The next save waits until ``release()``.
        func holdNextSave() {
            state.withLock { $0.isArmed = true }
        }

        /// Returns once a save is held, or after a while when none comes (the commit did not write).
        func waitForHeldSave() async {
            for _ in 0..<1_000 where !state.withLock({ $0.isHolding }) { await Task.yield() }
        }

        /// Lets the held save go on (or the next one, if none came yet) and holds no more.
        func release() {
            let waiting = state.withLock { state in
                defer { state = State() }
                return state.waiting
            }
            waiting?.resume()
        }

        /// Waits here if this is the save to hold.
        func pass() async {
            await withCheckedContinuation { continuation in
                let holds = state.withLock { state in
                    guard state.isArmed, !state.isHolding else { return false }
                    state.isHolding = true
                    state.waiting = continuation
                    return true
                }
                if !holds { continuation.resume() }
            }
        }
    }

    /// Forwards to a store, passing every save through a ``SaveHold``.
    private final class HeldSaveStore: SessionStore {
        let base: any SessionStore
        let hold: SaveHold

        init(_ base: any SessionStore, hold: SaveHold) {
            self.base = base
            self.hold = hold
        }

        var name: String { base.name }

        func load(_ key: SessionKey) async throws -> StoredSession? {
            try await base.load(key)
        }

        func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
            await hold.pass()
            return try await base.save(record, expecting: version)
        }

        func touch(_ key: SessionKey, expiresAt: Date) async throws {
            try await base.touch(key, expiresAt: expiresAt)
        }

        func delete(_ key: SessionKey) async throws {
            try await base.delete(key)
        }
    }

    /// Commits `session`; a commit that fails because the other request removed
    /// the session (``SessionKit/SessionStoreError/Code/sessionEnded``: its
    /// changes were not saved) counts as ``SessionKit/SessionCommitResult/Action/discarded``.
    private static func commitAllowingEnded(_ session: RequestSession, _ engine: SessionEngine) async throws -> SessionCommitResult {
        do {
            return try await engine.commit(session)
        } catch let error as SessionStoreError where error.code == .sessionEnded {
            return SessionCommitResult(action: .discarded)
        }
    }

    /// What running `requests` one after the other on a copy of `record` leaves in the store.
    private static func serialOutcome(
        of requests: [[SessionCall]],
        from record: SessionRecord,
        token: SessionToken,
        csrfMode: CSRFConfiguration.Mode
    ) async throws -> SessionValue? {
        let reference = try MemoryStore()
        guard case .saved = try await reference.save(record, expecting: nil) else {
            throw fail("the reference memory store refused a copy of the initial record")
        }
        let engine = try propertyEngine(reference, csrfMode: csrfMode)
        // In the concurrent run every request loaded the initial record, and sees only its flash keys.
        let loadedFlashKeys = flashKeys(in: try SessionValue(jsonBytes: record.data))
        for calls in requests {
            let session = try await engine.load(token: token)
            // The previous request removed the session: in the concurrent run this
            // request's commit is discarded, so its calls change nothing.
            guard session.isLoaded else { break }
            // Not a serial order in the strict sense, on purpose: a request ages only
            // the flash keys it loaded, so the keys an earlier request of this order
            // flashed after the initial record (unseen in the concurrent run) survive
            // this request's ageing, as if it kept them; `now` on such a key makes
            // it seen. Without this, the check would demand that a flashed message
            // vanish unseen (A flashes, concurrent B removes it).
            let unseen = flashKeys(in: try await storedContent(token.key, in: reference))
                .subtracting(loadedFlashKeys)
                .subtracting(calls.compactMap { if case .now(let key, _) = $0 { key } else { nil } })
            if !unseen.isEmpty { session.keep(unseen.sorted()) }
            for call in calls { call.apply(to: session) }
            _ = try await engine.commit(session)
        }
        return try await storedContent(token.key, in: reference)
    }

    /// The keys on either flash list (`fn`, `fo`) of a decoded record.
    private static func flashKeys(in content: SessionValue?) -> Set<String> {
        guard case .object(let object)? = content else { return [] }
        var keys: Set<String> = []
        for mark in ["fn", "fo"] {
            guard case .array(let listed)? = object[mark] else { continue }
            for case .string(let key) in listed { keys.insert(key) }
        }
        return keys
    }

    /// The decoded record under `key` with its flash marks sorted, or `nil` when there is none.
    private static func storedContent(_ key: SessionKey, in store: any SessionStore) async throws -> SessionValue? {
        guard let stored = try await store.load(key) else { return nil }
        guard case .object(var object) = try SessionValue(jsonBytes: stored.record.data) else {
            throw fail("the stored record is not a JSON object: \(stored.record.data.count) bytes")
        }
        for mark in ["fn", "fo"] {
            if case .array(let keys)? = object[mark] {
                object[mark] = .array(keys.sorted { $0.jsonText < $1.jsonText })
            }
        }
        return .object(object)
    }

    private static func isSame(_ lhs: SessionValue?, _ rhs: SessionValue?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): return true
        case (let left?, let right?): return isIdentical(left, right)
        default: return false
        }
    }

    private static func describe(_ content: SessionValue?) -> String {
        content?.jsonText ?? "no session"
    }

    /// An engine for the property checks: cookies for plain HTTP, the given CSRF mode.
    static func propertyEngine(_ store: any SessionStore, csrfMode: CSRFConfiguration.Mode) throws -> SessionEngine {
        var configuration = SessionEngine.Configuration(cookie: .init(isSecure: false))
        configuration.csrf.mode = csrfMode
        return try SessionEngine(store: store, configuration: configuration)
    }

    // MARK: Value round trip

    /// Checks that `values` come back exactly, through an engine and its store,
    /// in the next request.
    ///
    /// A request puts every value and commits; a second request, carrying the
    /// session cookie the first one set, must read each value back the same kind
    /// with the same content: strings byte for byte, doubles bit for bit (-0.0
    /// keeps its sign), objects with the same keys. A double that is NaN or
    /// infinite cannot be written as JSON and comes back `null`
    /// (``RandomInput/normalized(_:)``). Works with any engine, the
    /// ``SessionKit/CookieStore``'s included, as long as the values fit its cookie.
    ///
    /// - Parameters:
    ///   - values: The keys and values to store.
    ///   - engine: The engine under test.
    /// - Throws: ``ConformanceFailure`` naming the first value that changed; or
    ///   the engine's error.
    public static func checkValuesRoundTrip(_ values: [String: SessionValue], through engine: SessionEngine) async throws {
        do {
            let first = try await engine.load(cookieHeader: nil)
            first.start()
            for (key, value) in values { first.put(key, value) }
            let created = try await engine.commit(first)
            let cookieName = engine.configuration.cookie.effectiveName
            guard let line = created.setCookies.first(where: { $0.hasPrefix(cookieName + "=") }) else {
                throw fail("committing a new session did \(created.action) and set no session cookie")
            }
            let header = String(line.prefix { $0 != ";" })

            let second = try await engine.load(cookieHeader: header)
            try expect(second.isLoaded, "the session saved in the first request did not load in the second")
            for (key, value) in values {
                let expected = RandomInput.normalized(value)
                guard let loaded = second.get(key) else {
                    throw fail("the value under \(describe(key)) did not come back; saved \(value.jsonText)")
                }
                try expect(
                    isIdentical(loaded, expected),
                    "the value under \(describe(key)) came back as \(loaded.jsonText), saved \(value.jsonText)"
                )
            }
            // `_csrf` is the engine's own key for the CSRF secret.
            let extra = second.all().keys.filter { values[$0] == nil && $0 != "_csrf" }
            try expect(extra.isEmpty, "the session came back with keys nobody put: \(extra.map(describe))")
        } catch var failure as ConformanceFailure {
            failure.check = "every value round-trips exactly (\(engine.storeName) store)"
            throw failure
        }
    }
}

extension SessionStoreConformance {
    /// Whether two values are the same kind with the same content: strings compared
    /// byte for byte (Swift's `==` treats canonically equivalent strings as equal),
    /// doubles bit for bit (`==` treats -0.0 and 0.0 as equal), objects key by key.
    ///
    /// - Parameters:
    ///   - lhs: A value.
    ///   - rhs: Another value.
    public static func areIdentical(_ lhs: SessionValue, _ rhs: SessionValue) -> Bool {
        isIdentical(lhs, rhs)
    }
}
