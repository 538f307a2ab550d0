import Logging
import Metrics
import Tracing

extension SessionEngine {
    /// Runs a store call, instrumented, wrapping any failure other than
    /// ``SessionStoreError`` with the store's name.
    ///
    /// Every call gets a span `sessionkit.store.<operation>` with the attributes
    /// `sessionkit.store` and `sessionkit.result`, and a recording of
    /// `sessionkit_store_operation_duration`; a failure is logged at error and
    /// counted in `sessionkit_store_errors_total`. Without a bootstrapped tracer
    /// no span is made. Nothing here ever sees a token, and no key is recorded.
    /// Past ``Configuration/maximumInFlightStoreOperations`` calls in flight, the
    /// call is refused at once with ``SessionStoreError/Code/overloaded``.
    ///
    /// - Parameters:
    ///   - operation: What the call does.
    ///   - outcome: The span's `sessionkit.result` for a value the call returned.
    ///   - body: The store call.
    /// - Returns: What `body` returned.
    /// - Throws: ``SessionStoreError``, or `CancellationError` when the task was cancelled.
    func perform<T>(
        _ operation: StoreOperation,
        outcome: (T) -> String = { _ in "ok" },
        _ body: () async throws -> T
    ) async throws -> T {
        let instruments = metrics.store(operation)
        guard inFlight.acquire() else {
            instruments?.errors.increment()
            logger.warning(
                "session store operation refused: too many in flight",
                metadata: [
                    "sessionkit.store": "\(storeName)",
                    "sessionkit.operation": "\(operation.rawValue)",
                    "sessionkit.reason": "overloaded",
                    "sessionkit.limit": "\(inFlight.limit)",
                ]
            )
            throw SessionStoreError(
                code: .overloaded,
                storeName: storeName,
                message: "\(inFlight.limit) operations already in flight (maximumInFlightStoreOperations)"
            )
        }
        defer { inFlight.release() }
        // Without a tracer (none bootstrapped and none bound to the task), no span
        // is made: its attribute dictionary alone costs more than a memory-store load.
        // The usual case, no instrument at all, is told by its concrete type, which
        // is cheaper than the search for a tracer among the instruments.
        if !(InstrumentationSystem.instrument is NoOpInstrument) {
            let tracer = InstrumentationSystem.tracer
            if !(tracer is NoOpTracer) {
                return try await traced(operation, by: tracer, instruments, outcome: outcome, body)
            }
        }
        return try await measure(operation, instruments, span: nil, outcome: outcome, body)
    }

    /// Runs `body` inside a span of `tracer`; the error, when it fails, is thrown inside the span.
    private func traced<T>(
        _ operation: StoreOperation,
        by tracer: some Tracer,
        _ instruments: SessionMetrics.StoreInstruments?,
        outcome: (T) -> String,
        _ body: () async throws -> T
    ) async throws -> T {
        try await tracer.withSpan(operation.spanName) { span in
            span.attributes["sessionkit.store"] = storeName
            return try await measure(operation, instruments, span: span, outcome: outcome, body)
        }
    }

    /// Runs `body`, records its duration, and on failure logs, counts and
    /// wraps the error; `span`, when there is one, gets the result.
    @inline(__always)
    private func measure<T>(
        _ operation: StoreOperation,
        _ instruments: SessionMetrics.StoreInstruments?,
        span: (any Span)?,
        outcome: (T) -> String,
        _ body: () async throws -> T
    ) async throws -> T {
        let start = ContinuousClock.now
        do {
            let value = try await body()
            instruments?.duration.record(duration: ContinuousClock.now - start)
            span?.attributes["sessionkit.result"] = outcome(value)
            return value
        } catch {
            instruments?.duration.record(duration: ContinuousClock.now - start)
            if error is CancellationError {
                span?.attributes["sessionkit.result"] = "cancelled"
                throw CancellationError()
            }
            let failure =
                error as? SessionStoreError
                ?? SessionStoreError(code: .unavailable, storeName: storeName, message: "\(operation.rawValue) failed", cause: error)
            span?.attributes["sessionkit.result"] = "error"
            instruments?.errors.increment()
            logger.error(
                "session store operation failed",
                metadata: [
                    "sessionkit.store": "\(storeName)",
                    "sessionkit.operation": "\(operation.rawValue)",
                    "sessionkit.reason": "\(failure.code)",
                    "sessionkit.error": "\(failure)",
                ]
            )
            // Thrown inside the span, so a tracer records the wrapped error, which names the store.
            throw failure
        }
    }

    /// Loads a record, instrumented; the span's result is `hit` or `miss`.
    func performLoad(_ key: SessionKey, from store: any SessionStore) async throws -> StoredSession? {
        try await perform(.load, outcome: { $0 == nil ? "miss" : "hit" }) { try await store.load(key) }
    }

    /// Saves a record by compare-and-swap, instrumented, and counts the result
    /// in `sessionkit_sessions_saved_total` when it updates an existing record.
    func performSave(_ record: SessionRecord, expecting version: SessionVersion?, to store: any SessionStore) async throws -> SessionSaveResult {
        let result = try await perform(.save, outcome: Self.describe) { try await store.save(record, expecting: version) }
        // Creates are counted as created sessions by the caller, once the new id is in force.
        if version != nil {
            switch result {
            case .saved: metrics.saved.increment()
            case .conflict: metrics.conflicts.increment()
            }
        }
        return result
    }

    private static func describe(_ result: SessionSaveResult) -> String {
        switch result {
        case .saved: return "saved"
        case .conflict: return "conflict"
        }
    }
}
