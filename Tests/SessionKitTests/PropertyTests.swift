import Foundation
import PropertyBased
import SessionKitConformance
import Testing

@testable import SessionKit

private typealias RandomInput = SessionStoreConformance.RandomInput

/// Property tests (x-sheep/swift-property-based): random inputs, shrunk to a
/// smallest failing case, which is printed with the seed that reproduces it
/// (add `.fixedSeed("…")` to the test).
///
/// Counts are chosen so the whole suite takes a few seconds on two cores.
@Suite(.shrinking) struct PropertyTests {
    // MARK: Concurrent requests linearize

    /// Two requests on one session committing at once end as one of the two
    /// serial orders: on one engine and on two engines (two app servers) sharing the store.
    @Test(arguments: [SessionStoreConformance.EngineLayout.oneEngine, .twoEngines])
    func concurrentRequestsOnTheMemoryStoreEndAsASerialOrder(engines: SessionStoreConformance.EngineLayout) async throws {
        let store = try MemoryStore()
        await propertyCheck(count: 150, input: Gen.concurrentRequests) { requests in
            await recordingErrors { try await SessionStoreConformance.checkConcurrentRequestsLinearize(requests, store: store, engines: engines) }
        }
    }

    @Test(arguments: [SessionStoreConformance.EngineLayout.oneEngine, .twoEngines])
    func concurrentRequestsOnTheFileStoreEndAsASerialOrder(engines: SessionStoreConformance.EngineLayout) async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        await propertyCheck(count: 100, input: Gen.concurrentRequests) { requests in
            await recordingErrors { try await SessionStoreConformance.checkConcurrentRequestsLinearize(requests, store: store, engines: engines) }
        }
    }

    // MARK: Values round-trip

    /// The codec writes every value so that it reads back identical; a
    /// non-finite double, which JSON cannot hold, is written as `null`.
    @Test func everyValueRoundTripsThroughTheJSONCodec() async {
        await propertyCheck(count: 1_000, input: Gen.sessionValue(allowsNonFinite: true)) { value in
            let bytes = JSONCodec.encode(value)
            let decoded = try #require(try? JSONCodec.decode(bytes), "\(value) did not decode: \(String(decoding: bytes, as: UTF8.self))")
            #expect(
                SessionStoreConformance.areIdentical(decoded, RandomInput.normalized(value)),
                "\(value) came back as \(decoded)"
            )
            // The text is canonical: encoding the decoded value gives the same bytes.
            #expect(JSONCodec.encode(decoded) == bytes)
        }
    }

    /// A whole record (values, flash marks, creation time, owner) decodes to what was encoded.
    @Test func everyPayloadRoundTripsThroughItsEncoding() async {
        await propertyCheck(count: 300, input: Gen.sessionValues(), Gen.int(in: 0...7)) { values, marks in
            var payload = SessionPayload(createdAt: 1_700_000_000.25)
            payload.values = values
            let keys = values.keys.sorted()
            payload.flashNew = marks & 1 == 0 ? [] : Array(keys.prefix(1))
            payload.flashOld = marks & 2 == 0 ? [] : Array(keys.suffix(1))
            payload.owner = marks & 4 == 0 ? nil : keys.first
            payload.ownerEpoch = marks & 4 == 0 ? nil : Int64(marks) - 5
            payload.userAgent = marks & 1 == 0 ? nil : keys.last
            payload.ipAddress = marks & 2 == 0 ? nil : keys.first
            let bytes = payload.encoded()
            let decoded = try #require(SessionPayload(decoding: bytes))
            #expect(decoded.flashNew == payload.flashNew && decoded.flashOld == payload.flashOld)
            #expect(decoded.createdAt == payload.createdAt && decoded.owner == payload.owner)
            #expect(decoded.ownerEpoch == payload.ownerEpoch && decoded.userAgent == payload.userAgent && decoded.ipAddress == payload.ipAddress)
            // Written in canonical order: the generic writer, which sorts members, writes the same bytes.
            #expect(JSONCodec.encode(try JSONCodec.decode(bytes, maximumDepth: SessionPayload.maximumRecordDepth)) == bytes)
            #expect(SessionStoreConformance.areIdentical(.object(decoded.values), .object(payload.values)))
        }
    }

    @Test func everyValueRoundTripsThroughTheMemoryStore() async throws {
        let engine = try SessionEngine(store: try MemoryStore())
        await propertyCheck(count: 200, input: Gen.sessionValues(allowsNonFinite: true)) { values in
            await recordingErrors { try await SessionStoreConformance.checkValuesRoundTrip(values, through: engine) }
        }
    }

    @Test func everyValueRoundTripsThroughTheFileStore() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let engine = try SessionEngine(store: try FileStore(directory: directory.path))
        await propertyCheck(count: 200, input: Gen.sessionValues(allowsNonFinite: true)) { values in
            await recordingErrors { try await SessionStoreConformance.checkValuesRoundTrip(values, through: engine) }
        }
    }

    /// Through the sealed cookie, with values small enough to fit in one (4 KB).
    @Test func everyValueRoundTripsThroughTheCookieStore() async throws {
        let engine = try SessionEngine(cookieStore: try CookieStore(keys: [.generate(id: "k1")]))
        let small = Gen.sessionValues(count: 1...3, maximumDepth: 2, maximumLength: 3, allowsNonFinite: true)
        await propertyCheck(count: 200, input: small) { values in
            await recordingErrors { try await SessionStoreConformance.checkValuesRoundTrip(values, through: engine) }
        }
    }

    // MARK: Flash

    /// For any sequence of requests doing flash / now / reflash / keep / put /
    /// forget / flush and reads, `get` and `getFlash` see exactly what Laravel's
    /// session store would, in every request, before and after every call.
    @Test func flashedValuesAreVisibleExactlyAsLaravelsRulesSay() async {
        await propertyCheck(count: 300, input: Gen.flashScenario) { scenario in
            await recordingErrors { try await Self.checkFlashVisibility(scenario) }
        }
    }

    /// The smallest case the flash property found: `now` after `flash` of the
    /// same key in one request wins, as in Laravel, so the value is gone after it.
    @Test func nowAfterFlashInOneRequestIsGoneAfterIt() async throws {
        try await Self.checkFlashVisibility(FlashScenario(requests: [[.flash("y", 75), .now("y", 25)], []]))
    }

    private static func checkFlashVisibility(_ scenario: FlashScenario) async throws {
        let engine = try SessionEngine(store: try MemoryStore())
        var model = LaravelFlashModel()
        var token: SessionToken?
        for (index, steps) in scenario.requests.enumerated() {
            let session = try await engine.load(token: token)
            try model.expectSameView(as: session, "at the start of request \(index)")
            for step in steps {
                step.apply(to: session)
                model.apply(step)
                try model.expectSameView(as: session, "in request \(index) after \(step)")
            }
            let result = try await engine.commit(session)
            model.endRequest()
            switch result.action {
            case .deleted: token = nil
            default: token = result.token ?? token
            }
        }
        let last = try await engine.load(token: token)
        try model.expectSameView(as: last, "after the last request")
    }
}

/// Runs `body` and records what it throws as an issue.
///
/// `propertyCheck` counts recorded issues only and ignores an error thrown from
/// its body (PropertyBased 2.0.1 runs the body under `try?`), so a failure
/// thrown there would pass silently; every body goes through this.
func recordingErrors(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
    } catch {
        Issue.record(error, sourceLocation: sourceLocation)
    }
}

// MARK: - Generators

/// The property checker's generator behind a concrete type: passing the
/// existential `inout any SeededRandomNumberGenerator` straight to a generic
/// `inout some RandomNumberGenerator` crashes the Swift 6.3.1 compiler (IRGen).
private struct DrawnGenerator: RandomNumberGenerator {
    var base: any SeededRandomNumberGenerator
    mutating func next() -> UInt64 { base.next() }
}

/// Runs `draw` on the property checker's generator, keeping the state it advanced.
private func drawing<T>(from generator: inout any SeededRandomNumberGenerator, _ draw: (inout DrawnGenerator) -> T) -> T {
    var drawn = DrawnGenerator(base: generator)
    defer { generator = drawn.base }
    return draw(&drawn)
}

extension Gen where Value == SessionStoreConformance.ConcurrentRequests {
    /// Three requests of up to five random calls each; shrinks by dropping or simplifying calls.
    fileprivate static var concurrentRequests: Generator<Value, [Value]> {
        Generator(run: { rng in drawing(from: &rng) { Value.random(using: &$0) } }, shrink: { $0.simpler })
    }
}

extension Gen where Value == SessionValue {
    /// Any value, nested up to four levels.
    fileprivate static func sessionValue(allowsNonFinite: Bool = false) -> Generator<Value, [Value]> {
        Generator(
            run: { rng in drawing(from: &rng) { RandomInput.value(allowsNonFinite: allowsNonFinite, using: &$0) } },
            shrink: { RandomInput.simplerValues(than: $0) }
        )
    }
}

extension Gen where Value == [String: SessionValue] {
    /// Values under arbitrary keys.
    fileprivate static func sessionValues(
        count: ClosedRange<Int> = 1...5,
        maximumDepth: Int = 4,
        maximumLength: Int = 6,
        allowsNonFinite: Bool = false
    ) -> Generator<Value, [Value]> {
        Generator(
            run: { rng in
                drawing(from: &rng) {
                    RandomInput.values(
                        count: count,
                        maximumDepth: maximumDepth,
                        maximumLength: maximumLength,
                        allowsNonFinite: allowsNonFinite,
                        using: &$0
                    )
                }
            },
            shrink: { RandomInput.simplerValues(than: $0) }
        )
    }
}

// MARK: - Flash model

/// One thing a handler does in a flash scenario.
private enum FlashStep: Sendable, Hashable, CustomStringConvertible {
    case flash(String, Int64)
    case now(String, Int64)
    case reflash
    case keep([String])
    case put(String, Int64)
    case forget(String)
    case flush

    static let keys = ["x", "y", "z"]

    func apply(to session: RequestSession) {
        switch self {
        case .flash(let key, let value): session.flash(key, .int(value))
        case .now(let key, let value): session.now(key, .int(value))
        case .reflash: session.reflash()
        case .keep(let keys): session.keep(keys)
        case .put(let key, let value): session.put(key, .int(value))
        case .forget(let key): session.forget(key)
        case .flush: session.flush()
        }
    }

    var description: String {
        switch self {
        case .flash(let key, let value): return "flash(\"\(key)\", \(value))"
        case .now(let key, let value): return "now(\"\(key)\", \(value))"
        case .reflash: return "reflash()"
        case .keep(let keys): return "keep(\(keys))"
        case .put(let key, let value): return "put(\"\(key)\", \(value))"
        case .forget(let key): return "forget(\"\(key)\")"
        case .flush: return "flush()"
        }
    }

    static func random(using generator: inout some RandomNumberGenerator) -> Self {
        let key = keys.randomElement(using: &generator)!
        let value = Int64.random(in: 1...99, using: &generator)
        switch Int.random(in: 0..<16, using: &generator) {
        case 0...3: return .flash(key, value)
        case 4...6: return .now(key, value)
        case 7, 8: return .reflash
        case 9, 10: return .keep(Array(keys.shuffled(using: &generator).prefix(Int.random(in: 1...2, using: &generator))))
        case 11, 12: return .put(key, value)
        case 13, 14: return .forget(key)
        default: return .flush
        }
    }
}

/// Requests, each a list of steps, run one after the other on one session.
private struct FlashScenario: Sendable, Hashable, CustomStringConvertible {
    var requests: [[FlashStep]]

    var description: String {
        requests.enumerated().map { "request \($0.offset): \($0.element)" }.joined(separator: "; ")
    }

    static func random(using generator: inout some RandomNumberGenerator) -> Self {
        Self(
            requests: (0..<Int.random(in: 1...6, using: &generator)).map { _ in
                (0..<Int.random(in: 0...5, using: &generator)).map { _ in FlashStep.random(using: &generator) }
            }
        )
    }

    /// Without one request, or one request without one step.
    var simpler: [Self] {
        var candidates: [Self] = []
        for index in requests.indices {
            var fewer = requests
            fewer.remove(at: index)
            candidates.append(Self(requests: fewer))
        }
        for index in requests.indices {
            for step in requests[index].indices {
                var fewer = requests
                fewer[index].remove(at: step)
                candidates.append(Self(requests: fewer))
            }
        }
        return candidates
    }
}

extension Gen where Value == FlashScenario {
    fileprivate static var flashScenario: Generator<Value, [Value]> {
        Generator(run: { rng in drawing(from: &rng) { Value.random(using: &$0) } }, shrink: { $0.simpler })
    }
}

/// Laravel's session store (`Illuminate\Session\Store`) reduced to its flash
/// rules, written from Laravel's code rather than ours:
///
/// - `flash(k, v)`: put, add `k` to the new flash list, remove it from the old one;
/// - `now(k, v)`: put, add `k` to the old flash list (removed when this request ends);
/// - `reflash()`: move the whole old list into the new one;
/// - `keep(ks)`: add `ks` to the new list, remove them from the old one;
/// - `put` and `forget` change the value only; `flush` removes everything;
/// - at the end of every request (`ageFlashData`): forget the value of every
///   key in the old list, then the new list becomes the old one.
///
/// Reading never consumes. `getFlash(k)` is our addition: the value while `k`
/// is on either list.
private struct LaravelFlashModel {
    var values: [String: Int64] = [:]
    var newFlash: Set<String> = []
    var oldFlash: Set<String> = []

    mutating func apply(_ step: FlashStep) {
        switch step {
        case .flash(let key, let value):
            values[key] = value
            newFlash.insert(key)
            oldFlash.remove(key)
        case .now(let key, let value):
            values[key] = value
            oldFlash.insert(key)
        case .reflash:
            newFlash.formUnion(oldFlash)
            oldFlash = []
        case .keep(let keys):
            newFlash.formUnion(keys)
            oldFlash.subtract(keys)
        case .put(let key, let value):
            values[key] = value
        case .forget(let key):
            values[key] = nil
        case .flush:
            self = LaravelFlashModel()
        }
    }

    mutating func endRequest() {
        for key in oldFlash { values[key] = nil }
        oldFlash = newFlash
        newFlash = []
    }

    func get(_ key: String) -> SessionValue? { values[key].map { .int($0) } }

    func getFlash(_ key: String) -> SessionValue? {
        newFlash.contains(key) || oldFlash.contains(key) ? get(key) : nil
    }

    struct Mismatch: Error, CustomStringConvertible {
        var description: String
    }

    func expectSameView(as session: RequestSession, _ moment: String) throws {
        for key in FlashStep.keys {
            guard session.get(key) == get(key), session.getFlash(key) == getFlash(key) else {
                throw Mismatch(
                    description: "\(moment): \"\(key)\" reads get \(String(describing: session.get(key))), "
                        + "getFlash \(String(describing: session.getFlash(key))); Laravel's rules give get "
                        + "\(String(describing: get(key))), getFlash \(String(describing: getFlash(key)))"
                )
            }
        }
    }
}
