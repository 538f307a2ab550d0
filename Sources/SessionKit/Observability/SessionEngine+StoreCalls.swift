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
    /// the span is a no-op. Nothing here ever sees a token, and no key is recorded.
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
        return try await withSpan(operation.spanName) { span in
            span.attributes["sessionkit.store"] = storeName
            let start = ContinuousClock.now
            do {
                let value = try await body()
                instruments?.duration.record(duration: ContinuousClock.now - start)
                span.attributes["sessionkit.result"] = outcome(value)
                return value
            } catch {
                instruments?.duration.record(duration: ContinuousClock.now - start)
                if error is CancellationError {
                    span.attributes["sessionkit.result"] = "cancelled"
                    throw CancellationError()
                }
                let failure =
                    error as? SessionStoreError
                    ?? SessionStoreError(code: .unavailable, storeName: storeName, message: "\(operation.rawValue) failed", cause: error)
                span.attributes["sessionkit.result"] = "error"
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
