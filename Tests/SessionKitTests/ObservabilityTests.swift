import Foundation
import InMemoryTracing
import Logging
import Metrics
import MetricsTestKit
import SessionKit
import SessionKitConformance
import Synchronization
import Testing
import Tracing

/// Forwards to a ``MemoryStore`` and counts the calls it forwards; while
/// ``isFailing`` is set, every call throws instead, as an unreachable backend would.
///
/// A decorator so the tests can count store calls; it is not the thing under test.
private final class CountingStore: SessionStore {
    struct Outage: Error, CustomStringConvertible {
        var description: String { "connection refused" }
    }

    let inner: MemoryStore
    private let calls = Mutex<[String: Int]>([:])
    private let failing = Mutex(false)

    init(clock: ManualClock) throws {
        inner = try MemoryStore(clock: clock)
    }

    var name: String { "counting" }

    /// Whether every call throws ``Outage``.
    var isFailing: Bool {
        get { failing.withLock { $0 } }
        set { failing.withLock { $0 = newValue } }
    }

    /// How many calls of each kind were forwarded (or failed), by requirement name.
    var callCounts: [String: Int] { calls.withLock { $0 } }

    /// How many calls were made, of any kind.
    var totalCalls: Int { callCounts.values.reduce(0, +) }

    private func count(_ call: String) throws {
        calls.withLock { $0[call, default: 0] += 1 }
        if isFailing { throw Outage() }
    }

    func load(_ key: SessionKey) async throws -> StoredSession? {
        try count("load")
        return try await inner.load(key)
    }

    func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        try count("save")
        return try await inner.save(record, expecting: version)
    }

    func touch(_ key: SessionKey, expiresAt: Date) async throws {
        try count("touch")
        try await inner.touch(key, expiresAt: expiresAt)
    }

    func delete(_ key: SessionKey) async throws {
        try count("delete")
        try await inner.delete(key)
    }
}

/// Keeps every log event, with the handler's own metadata merged in, so a test
/// can read back what the engine logged (ObservabilityTests, PayloadEncryptionTests).
final class LogCapture: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]

        /// The message and every metadata key and value, for searching.
        var allText: [String] { [message] + metadata.flatMap { [$0.key, $0.value] } }
    }

    private let storage = Mutex<[Entry]>([])

    var entries: [Entry] { storage.withLock { $0 } }

    /// A logger at `trace` that writes here.
    var logger: Logger {
        var logger = Logger(label: "sessionkit.tests") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    func append(_ entry: Entry) {
        storage.withLock { $0.append(entry) }
    }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            var text = merged.mapValues { "\($0)" }
            if let error = event.error { text["<error>"] = "\(error)" }
            capture.append(Entry(level: event.level, message: event.message.description, metadata: text))
        }
    }
}

/// An engine over a ``CountingStore`` with its own ``TestMetrics`` and log
/// capture, so tests running in parallel never share a metric or a log line.
private struct ObservedEngine {
    let clock = ManualClock()
    let metrics = TestMetrics()
    let logs = LogCapture()
    let store: CountingStore
    let engine: SessionEngine

    init(_ configure: (inout SessionEngine.Configuration) -> Void = { _ in }) throws {
        store = try CountingStore(clock: clock)
        var configuration = SessionEngine.Configuration()
        configure(&configuration)
        engine = try SessionEngine(
            store: store,
            configuration: configuration,
            clock: clock,
            logger: logs.logger,
            metricsFactory: metrics
        )
    }

    func header(_ token: SessionToken) -> String {
        "\(engine.configuration.cookie.effectiveName)=\(token.cookieValue)"
    }

    func load(_ token: SessionToken?) async throws -> RequestSession {
        try await engine.load(cookieHeader: token.map(header))
    }

    @discardableResult
    func request(_ token: SessionToken?, _ handler: (RequestSession) -> Void = { _ in }) async throws -> SessionCommitResult {
        let session = try await load(token)
        handler(session)
        return try await engine.commit(session)
    }

    func createSession() async throws -> SessionToken {
        let result = try await request(nil) { $0.put("user", "alice") }
        return try #require(result.token)
    }

    /// The total of a counter across the given dimensions; 0 when it was never made.
    func counter(_ label: String, _ dimensions: [(String, String)] = []) -> Int64 {
        metrics.counterTotal(label: label, dimensions: dimensions)
    }

    /// How many durations the store-operation timer recorded for `operation`.
    func timings(_ operation: String) throws -> Int {
        try metrics.expectTimer("sessionkit_store_operation_duration", [("store", "counting"), ("operation", operation)]).values.count
    }

    /// How many durations the store-operation timer recorded, over every operation.
    var allTimings: Int {
        metrics.timers.filter { $0.label == "sessionkit_store_operation_duration" }.map(\.values.count).reduce(0, +)
    }
}

extension FinishedInMemorySpan {
    /// A string attribute's value.
    fileprivate func string(_ name: String) -> String? {
        guard case .string(let value) = attributes.get(name) else { return nil }
        return value
    }
}

@Suite struct ObservabilityTests {
    // MARK: Session counters

    @Test func aSessionsLifeIsCountedCreatedSavedReplayedDeleted() async throws {
        let observed = try ObservedEngine()

        let token = try await observed.createSession()
        #expect(observed.counter("sessionkit_sessions_created_total") == 1)
        #expect(observed.counter("sessionkit_sessions_saved_total", [("result", "saved")]) == 0, "a create is not an update")

        try await observed.request(token) { $0.put("theme", "dark") }
        #expect(observed.counter("sessionkit_sessions_loaded_total") == 1)
        #expect(observed.counter("sessionkit_sessions_saved_total", [("result", "saved")]) == 1)

        // A slow request loses the compare-and-swap to a faster one and replays its change.
        let slow = try await observed.load(token)
        try await observed.request(token) { $0.put("a", 1) }
        slow.put("b", 2)
        #expect(try await observed.engine.commit(slow).action == .saved)
        #expect(observed.counter("sessionkit_sessions_saved_total", [("result", "conflict")]) == 1)
        #expect(observed.counter("sessionkit_sessions_replays_total") == 1)
        #expect(observed.counter("sessionkit_sessions_saved_total", [("result", "saved")]) == 3)

        let result = try await observed.request(token) { $0.flush() }
        #expect(result.action == .deleted)
        #expect(observed.counter("sessionkit_sessions_deleted_total") == 1)
        // The flush retires the record by compare-and-swap before deleting it.
        #expect(observed.counter("sessionkit_sessions_saved_total", [("result", "saved")]) == 4)
        #expect(observed.counter("sessionkit_sessions_loaded_total") == 4)
        #expect(observed.counter("sessionkit_sessions_created_total") == 1)
        #expect(observed.counter("sessionkit_sessions_expired_total") == 0)
        #expect(observed.counter("sessionkit_store_errors_total") == 0)
    }

    @Test func aTouchIsCounted() async throws {
        let observed = try ObservedEngine()
        let token = try await observed.createSession()

        observed.clock.advance(by: .seconds(61))
        #expect(try await observed.request(token).action == .touched)

        #expect(observed.counter("sessionkit_sessions_touched_total") == 1)
        #expect(observed.counter("sessionkit_sessions_saved_total") == 0)
    }

    /// The built-in stores drop expired records themselves, which the engine
    /// cannot tell from unknown ids; it counts the ones it finds expired, as
    /// here with a store whose clock stands still.
    @Test func anExpiredSessionTheEngineFindsIsCounted() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let store = try MemoryStore(clock: ManualClock())
        let engine = try SessionEngine(store: store, clock: clock, metricsFactory: metrics)
        let session = try await engine.load(cookieHeader: nil)
        session.put("user", "alice")
        let token = try #require(try await engine.commit(session).token)

        clock.advance(by: .seconds(31 * 60))
        let name = engine.configuration.cookie.effectiveName
        #expect(!(try await engine.load(cookieHeader: "\(name)=\(token.cookieValue)").isLoaded))

        #expect(metrics.counterTotal(label: "sessionkit_sessions_expired_total") == 1)
        #expect(metrics.counterTotal(label: "sessionkit_sessions_loaded_total") == 0)
        #expect(store.count == 0, "the engine deletes the expired record")
    }

    @Test func revokingAnOwnersSessionsCountsEachAsDeleted() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), clock: clock, metricsFactory: metrics)
        for _ in 0..<3 {
            let session = try await engine.load(cookieHeader: nil)
            session.put("user", "alice")
            session.regenerate(owner: "alice")
            _ = try await engine.commit(session)
        }

        #expect(try await engine.revokeSessions(of: "alice") == 3)

        #expect(metrics.counterTotal(label: "sessionkit_sessions_deleted_total") == 3)
        let timer = try metrics.expectTimer("sessionkit_store_operation_duration", [("store", "memory"), ("operation", "delete-owner")])
        #expect(timer.values.count == 1)
    }

    @Test func theCookieStoreCountsSessionsAndTimesSealing() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let engine = try SessionEngine(
            cookieStore: CookieStore(keys: [.generate(id: "k1")]),
            clock: clock,
            metricsFactory: metrics
        )
        let session = try await engine.load(cookieHeader: nil)
        session.put("user", "alice")
        let created = try await engine.commit(session)
        let cookie = try #require(created.setCookies.first?.split(separator: ";").first.map(String.init))

        clock.advance(by: .seconds(61))
        let next = try await engine.load(cookieHeader: cookie)
        #expect(try await engine.commit(next).action == .touched)

        #expect(metrics.counterTotal(label: "sessionkit_sessions_created_total") == 1)
        #expect(metrics.counterTotal(label: "sessionkit_sessions_loaded_total") == 1)
        #expect(metrics.counterTotal(label: "sessionkit_sessions_touched_total") == 1)
        #expect(try metrics.expectTimer("sessionkit_store_operation_duration", [("store", "cookie"), ("operation", "seal")]).values.count == 2)
    }

    // MARK: CSRF

    struct Refusal: Sendable, CustomTestStringConvertible {
        var name: String
        var request: @Sendable (_ token: String) -> CSRFRequest
        var expected: CSRFError.Code
        var testDescription: String { name }

        static let all: [Refusal] = [
            Refusal(name: "no token", request: { _ in CSRFRequest(method: "POST", path: "/account", host: "example.com") }, expected: .missingToken),
            Refusal(
                name: "wrong token",
                request: { token in CSRFRequest(method: "POST", path: "/account", host: "example.com", headerToken: String(token.reversed())) },
                expected: .tokenMismatch
            ),
            Refusal(
                name: "cross-site",
                request: { token in
                    CSRFRequest(method: "POST", path: "/account", host: "example.com", secFetchSite: "cross-site", headerToken: token)
                },
                expected: .crossOriginRequest
            ),
        ]
    }

    @Test(arguments: Refusal.all)
    func aCSRFRefusalIsCountedAndLoggedAtNoticeWithItsReason(_ refusal: Refusal) async throws {
        let observed = try ObservedEngine()
        let token = try await observed.createSession()
        let session = try await observed.load(token)
        let csrfToken = session.csrfToken()

        let failure = observed.engine.checkCSRF(refusal.request(csrfToken), session: session, formBody: nil)

        #expect(failure?.code == refusal.expected)
        let reason = refusal.expected.description
        #expect(observed.counter("sessionkit_csrf_refusals_total", [("reason", reason)]) == 1)
        #expect(observed.counter("sessionkit_csrf_refusals_total") == 1)
        let logged = observed.logs.entries.filter { $0.message == "request refused by CSRF protection" }
        #expect(logged.count == 1)
        #expect(logged.first?.level == .notice)
        #expect(logged.first?.metadata["sessionkit.reason"] == reason)
        #expect(!observed.logs.entries.contains { entry in entry.allText.contains { $0.contains(csrfToken) } })
    }

    @Test func aTooLargeFormIsCountedAsARefusal() throws {
        let observed = try ObservedEngine()

        let failure = observed.engine.csrfFormTooLarge(CSRFRequest(method: "POST", path: "/upload", host: "example.com"))

        #expect(failure.code == .formTooLarge)
        #expect(observed.counter("sessionkit_csrf_refusals_total", [("reason", "formTooLarge")]) == 1)
        #expect(observed.logs.entries.first?.level == .notice)
    }

    // MARK: Store calls

    @Test func aStoreFailureIsCountedLoggedAndTracedWithStoreAndOperation() async throws {
        let observed = try ObservedEngine()
        let token = try await observed.createSession()
        observed.store.isFailing = true
        let tracer = InMemoryTracer()

        await withTracer(tracer) {
            await #expect(throws: SessionStoreError.self) { try await observed.load(token) }
        }

        #expect(observed.counter("sessionkit_store_errors_total", [("store", "counting"), ("operation", "load")]) == 1)
        #expect(observed.counter("sessionkit_store_errors_total") == 1)
        let logged = try #require(observed.logs.entries.first { $0.level == .error })
        #expect(logged.metadata["sessionkit.store"] == "counting")
        #expect(logged.metadata["sessionkit.operation"] == "load")
        #expect(logged.metadata["sessionkit.error"]?.contains("connection refused") == true)
        let span = try #require(tracer.finishedSpans.first)
        #expect(span.operationName == "sessionkit.store.load")
        #expect(span.string("sessionkit.result") == "error")
        #expect(span.errors.first?.error is SessionStoreError)
        #expect(try observed.timings("load") == 1, "a failed call is timed too")
    }

    @Test func everyStoreCallIsTimedAndTracedWithItsResult() async throws {
        let observed = try ObservedEngine()
        let tracer = InMemoryTracer()

        try await withTracer(tracer) {
            let token = try await observed.createSession()
            _ = try await observed.load(SessionToken.generate())
            observed.clock.advance(by: .seconds(61))
            try await observed.request(token)
            try await observed.request(token) { $0.invalidate() }
        }

        // The invalidated session had a CSRF secret, so a fresh one is created with a new secret.
        #expect(try observed.timings("save") == 2)
        #expect(try observed.timings("load") == 3)
        #expect(try observed.timings("touch") == 1)
        #expect(try observed.timings("delete") == 1)
        #expect(observed.allTimings == observed.store.totalCalls)
        let spans = tracer.finishedSpans.map { "\($0.operationName)=\($0.string("sessionkit.result") ?? "-")" }
        #expect(
            spans == [
                "sessionkit.store.save=saved",
                "sessionkit.store.load=miss",
                "sessionkit.store.load=hit",
                "sessionkit.store.touch=ok",
                "sessionkit.store.load=hit",
                "sessionkit.store.delete=ok",
                "sessionkit.store.save=saved",
            ]
        )
        #expect(tracer.finishedSpans.allSatisfy { $0.string("sessionkit.store") == "counting" })
    }

    /// The touch interval exists so that reading a session costs no write: check
    /// it with the store's own call count, the timer and the tracer.
    @Test func anUnchangedRequestInsideTheTouchIntervalMakesNoStoreCallAtCommit() async throws {
        let observed = try ObservedEngine()
        let token = try await observed.createSession()
        observed.clock.advance(by: .seconds(59))
        let tracer = InMemoryTracer()
        let callsBefore = observed.store.totalCalls
        let timingsBefore = observed.allTimings

        let session = try await withTracer(tracer) { try await observed.load(token) }
        #expect(observed.store.totalCalls == callsBefore + 1)
        #expect(tracer.finishedSpans.count == 1)
        _ = session.get("user")
        let result = try await withTracer(tracer) { try await observed.engine.commit(session) }

        #expect(result.action == .none)
        #expect(observed.store.totalCalls == callsBefore + 1, "the commit made a store call")
        #expect(observed.store.callCounts == ["save": 1, "load": 1])
        #expect(observed.allTimings == timingsBefore + 1, "the commit recorded a store timing")
        #expect(tracer.finishedSpans.count == 1, "the commit started a span")
    }

    // MARK: No secrets

    /// A shared log must not let its readers take over sessions: no line or
    /// metadata value carries a token, and keys appear only as an 8-character fingerprint.
    @Test func noLogLineCarriesATokenOrAFullKey() async throws {
        let observed = try ObservedEngine()
        var tokens: [SessionToken] = []

        let token = try await observed.createSession()
        tokens.append(token)
        try await observed.request(token) { $0.put("theme", "dark") }
        // A conflict and its replay.
        let slow = try await observed.load(token)
        try await observed.request(token) { $0.put("a", 1) }
        slow.put("b", 2)
        _ = try await observed.engine.commit(slow)
        // Regenerate and invalidate.
        let regenerated = try await observed.request(token) { $0.regenerate() }
        let current = try #require(regenerated.token)
        tokens.append(current)
        try await observed.request(current) { $0.invalidate() }
        // Bad cookies: unknown, malformed (a real token with a character changed), oversized, repeated.
        let unknown = SessionToken.generate()
        tokens.append(unknown)
        _ = try await observed.load(unknown)
        let name = observed.engine.configuration.cookie.effectiveName
        let malformed = String(current.cookieValue.dropLast()) + "!"
        _ = try await observed.engine.load(cookieHeader: "\(name)=\(malformed)")
        _ = try await observed.engine.load(cookieHeader: "\(name)=\(String(repeating: current.cookieValue, count: 100))")
        _ = try await observed.engine.load(cookieHeader: "\(name)=\(current.cookieValue); \(name)=\(token.cookieValue)")
        // An unreadable record.
        let corrupt = SessionToken.generate()
        tokens.append(corrupt)
        let record = SessionRecord(key: corrupt.key, data: Array("not json".utf8), expiresAt: observed.clock.now() + 600)
        _ = try await observed.store.inner.save(record, expecting: nil)
        _ = try await observed.load(corrupt)
        // A CSRF failure with a wrong token.
        let fresh = try await observed.createSession()
        tokens.append(fresh)
        let session = try await observed.load(fresh)
        let csrfToken = session.csrfToken()
        _ = observed.engine.checkCSRF(
            CSRFRequest(method: "POST", path: "/account", host: "example.com", headerToken: String(csrfToken.reversed())),
            session: session,
            formBody: nil
        )
        // Store failures on load and on commit.
        observed.store.isFailing = true
        _ = try? await observed.load(fresh)
        session.put("x", 1)
        _ = try? await observed.engine.commit(session)

        let entries = observed.logs.entries
        #expect(entries.contains { $0.level == .error }, "the store failures were not logged")
        #expect(entries.contains { $0.level == .notice }, "the CSRF refusal was not logged")
        #expect(entries.contains { $0.metadata["sessionkit.reason"] == "malformed-cookie" })
        let unreadable = try #require(entries.first { $0.message.contains("unreadable") })
        #expect(unreadable.metadata["sessionkit.session"] == String(corrupt.key.hex.prefix(8)))
        let secrets = tokens.flatMap { [$0.cookieValue, $0.key.hex] } + [malformed, csrfToken, String(csrfToken.reversed())]
        for entry in entries {
            for text in entry.allText {
                #expect(!secrets.contains { text.contains($0) }, "secret in a log entry: \(entry.message)")
            }
        }
    }

    @Test func noMetricOrSpanCarriesAnIdentifier() async throws {
        let observed = try ObservedEngine()
        let tracer = InMemoryTracer()
        let token = try await withTracer(tracer) {
            let token = try await observed.createSession()
            try await observed.request(token) { $0.regenerate(owner: "alice") }
            return token
        }

        var texts = observed.metrics.counters.flatMap { [$0.label] + $0.dimensions.flatMap { [$0.0, $0.1] } }
        texts += observed.metrics.timers.flatMap { [$0.label] + $0.dimensions.flatMap { [$0.0, $0.1] } }
        for span in tracer.finishedSpans {
            texts.append(span.operationName)
            span.attributes.forEach { key, value in texts += [key, "\(value)"] }
        }
        #expect(!texts.isEmpty)
        for text in texts {
            #expect(!text.contains(token.cookieValue) && !text.contains(token.key.fingerprint) && !text.contains("alice"))
        }
    }

    // MARK: Memory store gauge

    @Test func theMemoryStoreGaugeFollowsTheNumberOfRecords() async throws {
        let clock = ManualClock()
        let metrics = TestMetrics()
        let store = try MemoryStore(clock: clock, metricsFactory: metrics)
        let gauge = try metrics.expectGauge("sessionkit_memory_store_sessions")
        #expect(gauge.lastValue == 0)

        let first = SessionToken.generate().key
        _ = try await store.save(SessionRecord(key: first, data: [1], expiresAt: clock.now() + 60), expecting: nil)
        _ = try await store.save(SessionRecord(key: SessionToken.generate().key, data: [2], expiresAt: clock.now() + 600), expecting: nil)
        #expect(gauge.lastValue == 2)

        try await store.delete(first)
        #expect(gauge.lastValue == 1)

        clock.advance(by: .seconds(601))
        #expect(store.sweepExpired() == 1)
        #expect(gauge.lastValue == 0)
        let recordings = gauge.values.count
        _ = try await store.load(first)
        #expect(gauge.values.count == recordings, "a call that changes nothing must not record")
    }
}
