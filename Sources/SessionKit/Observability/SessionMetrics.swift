import Metrics

/// The engine's metric objects, made once when the engine is created and
/// shared by every request.
///
/// Labels and dimensions never carry a token, key or owner: only the store's
/// name, the operation, a save's result and a CSRF refusal's reason, so each
/// metric has a small, fixed set of series.
struct SessionMetrics: Sendable {
    /// A store operation's duration timer and failure counter.
    struct StoreInstruments: Sendable {
        /// `sessionkit_store_operation_duration{store, operation}`.
        let duration: Timer
        /// `sessionkit_store_errors_total{store, operation}`.
        let errors: Counter
    }

    /// `sessionkit_sessions_created_total`: sessions started under a fresh id
    /// (new, regenerated, or recreated after invalidation).
    let created: Counter
    /// `sessionkit_sessions_loaded_total`: requests that arrived with a live session.
    let loaded: Counter
    /// `sessionkit_sessions_saved_total{result="saved"}`: compare-and-swap writes
    /// to an existing session that went through, including the retirement
    /// before a delete or a regenerate.
    let saved: Counter
    /// `sessionkit_sessions_saved_total{result="conflict"}`: compare-and-swap
    /// writes that lost to a concurrent request.
    let conflicts: Counter
    /// `sessionkit_sessions_replays_total`: times a request's changes were
    /// replayed on a fresher record after a conflict.
    let replays: Counter
    /// `sessionkit_sessions_coalesced_total`: requests whose changes another
    /// request of the same session saved with its own, in one store write.
    let coalesced: Counter
    /// `sessionkit_sessions_deleted_total`: sessions emptied, invalidated or revoked.
    let deleted: Counter
    /// `sessionkit_sessions_expired_total`: sessions found past their idle or
    /// absolute timeout when a request brought them back.
    let expired: Counter
    /// `sessionkit_sessions_touched_total`: unchanged sessions whose expiry was extended.
    let touched: Counter

    private let factory: any MetricsFactory
    private let csrfRefusals: [CSRFError.Code: Counter]
    /// Indexed by ``StoreOperation/index``; `nil` for operations the backend never performs.
    private let store: [StoreInstruments?]

    /// Makes every metric of an engine over the store called `storeName`.
    init(storeName: String, isCookieStore: Bool, factory: any MetricsFactory) {
        self.factory = factory
        created = Counter(label: "sessionkit_sessions_created_total", factory: factory)
        loaded = Counter(label: "sessionkit_sessions_loaded_total", factory: factory)
        saved = Counter(label: "sessionkit_sessions_saved_total", dimensions: [("result", "saved")], factory: factory)
        conflicts = Counter(label: "sessionkit_sessions_saved_total", dimensions: [("result", "conflict")], factory: factory)
        replays = Counter(label: "sessionkit_sessions_replays_total", factory: factory)
        coalesced = Counter(label: "sessionkit_sessions_coalesced_total", factory: factory)
        deleted = Counter(label: "sessionkit_sessions_deleted_total", factory: factory)
        expired = Counter(label: "sessionkit_sessions_expired_total", factory: factory)
        touched = Counter(label: "sessionkit_sessions_touched_total", factory: factory)

        var csrfRefusals: [CSRFError.Code: Counter] = [:]
        for code in [CSRFError.Code.missingToken, .tokenMismatch, .crossOriginRequest, .formTooLarge] {
            csrfRefusals[code] = Self.csrfRefusalCounter(code, factory: factory)
        }
        self.csrfRefusals = csrfRefusals

        var store = [StoreInstruments?](repeating: nil, count: StoreOperation.allCases.count)
        for operation in StoreOperation.operations(ofCookieStore: isCookieStore) {
            let dimensions = [("store", storeName), ("operation", operation.rawValue)]
            store[operation.index] = StoreInstruments(
                duration: Timer(label: "sessionkit_store_operation_duration", dimensions: dimensions, factory: factory),
                errors: Counter(label: "sessionkit_store_errors_total", dimensions: dimensions, factory: factory)
            )
        }
        self.store = store
    }

    /// The timer and error counter of `operation`.
    func store(_ operation: StoreOperation) -> StoreInstruments? {
        // An array slot, not a dictionary lookup: a String-backed enum hashes its raw value.
        store[operation.index]
    }

    /// Counts a CSRF refusal under its reason.
    func recordCSRFRefusal(_ code: CSRFError.Code) {
        // Every code the engine knows has its counter already; one added later
        // gets its own the first time, rather than being lost or mislabelled.
        (csrfRefusals[code] ?? Self.csrfRefusalCounter(code, factory: factory)).increment()
    }

    private static func csrfRefusalCounter(_ code: CSRFError.Code, factory: any MetricsFactory) -> Counter {
        Counter(label: "sessionkit_csrf_refusals_total", dimensions: [("reason", code.description)], factory: factory)
    }
}
