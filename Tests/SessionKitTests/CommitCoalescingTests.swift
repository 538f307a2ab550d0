import Foundation
import SessionKit
import SessionKitConformance
import Synchronization
import Testing

/// A door that store calls wait at until the test opens it.
private final class Gate: Sendable {
    private let state = Mutex<(isOpen: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    /// How many calls are waiting now.
    var waitingCount: Int { state.withLock { $0.waiting.count } }

    func wait() async {
        await withCheckedContinuation { continuation in
            let isOpen = state.withLock { state in
                if !state.isOpen { state.waiting.append(continuation) }
                return state.isOpen
            }
            if isOpen { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }
}

/// Forwards to a ``MemoryStore``, counting saves; while gated, loads or saves
/// wait at the gate, and while failing, saves throw after it.
private final class GatedStore: SessionStore {
    struct Outage: Error {}

    let inner: MemoryStore
    let saveGate = Mutex<Gate?>(nil)
    let loadGate = Mutex<Gate?>(nil)
    let failsSaves = Mutex(false)
    private let saves = Atomic<Int>(0)

    init(clock: ManualClock) throws {
        inner = try MemoryStore(clock: clock)
    }

    var name: String { "gated" }
    var saveCount: Int { saves.load(ordering: .relaxed) }

    func load(_ key: SessionKey) async throws -> StoredSession? {
        if let gate = loadGate.withLock({ $0 }) { await gate.wait() }
        return try await inner.load(key)
    }

    func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        saves.add(1, ordering: .relaxed)
        if let gate = saveGate.withLock({ $0 }) { await gate.wait() }
        if failsSaves.withLock({ $0 }) { throw Outage() }
        return try await inner.save(record, expecting: version)
    }

    func touch(_ key: SessionKey, expiresAt: Date) async throws {
        try await inner.touch(key, expiresAt: expiresAt)
    }

    func delete(_ key: SessionKey) async throws {
        try await inner.delete(key)
    }
}

@Suite private struct CommitCoalescingTests {
    let clock = ManualClock()
    let store: GatedStore
    let engine: SessionEngine

    init() throws {
        store = try GatedStore(clock: clock)
        engine = try SessionEngine(store: store, clock: clock)
    }

    private func header(_ token: SessionToken) -> String {
        "\(engine.configuration.cookie.effectiveName)=\(token.cookieValue)"
    }

    /// A session holding `count = 0`.
    private func startSession() async throws -> SessionToken {
        let session = try await engine.load(cookieHeader: nil)
        session.put("count", 0)
        return try #require(try await engine.commit(session).token)
    }

    private func count(_ token: SessionToken) async throws -> Int? {
        try await engine.load(cookieHeader: header(token)).get("count", as: Int.self)
    }

    /// Waits (in real time) until `condition` holds, for at most two seconds.
    private func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<400 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
    }

    @Test func concurrentCommitsOfOneSessionShareStoreWritesAndLoseNothing() async throws {
        let token = try await startSession()
        let requests = 20
        var sessions: [RequestSession] = []
        for _ in 0..<requests { sessions.append(try await engine.load(cookieHeader: header(token))) }
        for session in sessions { session.increment("count") }

        let gate = Gate()
        store.saveGate.withLock { $0 = gate }
        let savesBefore = store.saveCount
        let results = try await withThrowingTaskGroup(of: SessionCommitResult.self) { group in
            for session in sessions { group.addTask { try await engine.commit(session) } }
            // The first commit waits at the store; the others queue behind it.
            try await eventually { gate.waitingCount == 1 }
            try await Task.sleep(for: .milliseconds(100))
            gate.open()
            return try await group.reduce(into: []) { $0.append($1) }
        }
        store.saveGate.withLock { $0 = nil }

        #expect(results.allSatisfy { $0.action == .saved })
        #expect(try await count(token) == requests)
        let saves = store.saveCount - savesBefore
        // One write for the leader, then the queued ones in as few batches as they arrived in.
        #expect(saves <= requests / 2, "\(saves) store writes for \(requests) concurrent commits")
    }

    @Test func aStoreFailureDuringABatchFailsEveryMemberNamingTheStore() async throws {
        let token = try await startSession()
        var sessions: [RequestSession] = []
        for _ in 0..<5 { sessions.append(try await engine.load(cookieHeader: header(token))) }
        for session in sessions { session.increment("count") }

        let gate = Gate()
        store.saveGate.withLock { $0 = gate }
        store.failsSaves.withLock { $0 = true }
        let failures = await withTaskGroup(of: SessionStoreError?.self) { group in
            for session in sessions {
                group.addTask {
                    do {
                        _ = try await engine.commit(session)
                        return nil
                    } catch {
                        return error as? SessionStoreError
                    }
                }
            }
            try? await eventually { gate.waitingCount == 1 }
            try? await Task.sleep(for: .milliseconds(50))
            gate.open()
            return await group.reduce(into: [SessionStoreError?]()) { $0.append($1) }
        }
        #expect(failures.count == 5)
        #expect(failures.allSatisfy { $0?.storeName == "gated" })

        // The lane is free again: the next commit goes through.
        store.failsSaves.withLock { $0 = false }
        store.saveGate.withLock { $0 = nil }
        let session = try await engine.load(cookieHeader: header(token))
        session.increment("count")
        #expect(try await engine.commit(session).action == .saved)
        #expect(try await count(token) == 1)
    }

    @Test func aFlushQueuedBetweenWritesDeletesTheSessionAndLaterWritesFailAsEnded() async throws {
        let token = try await startSession()
        let first = try await engine.load(cookieHeader: header(token))
        let flushing = try await engine.load(cookieHeader: header(token))
        let late = try await engine.load(cookieHeader: header(token))
        first.increment("count")
        flushing.flush()
        late.put("after", "flush")

        let gate = Gate()
        store.saveGate.withLock { $0 = gate }
        async let firstResult = engine.commit(first)
        try await eventually { gate.waitingCount == 1 }
        async let flushResult = engine.commit(flushing)
        try await Task.sleep(for: .milliseconds(100))
        async let lateResult = engine.commit(late)
        try await Task.sleep(for: .milliseconds(100))
        store.saveGate.withLock { $0 = nil }
        gate.open()

        #expect(try await firstResult.action == .saved)
        #expect(try await flushResult.action == .deleted)
        do {
            let late = try await lateResult
            Issue.record("a write queued after the flush committed as \(late.action); expected the error sessionEnded")
        } catch {
            #expect((error as? SessionStoreError)?.code == .sessionEnded)
        }
        #expect(try await engine.load(cookieHeader: header(token)).isLoaded == false)
    }

    @Test func commitsFromTwoEnginesOnOneStoreStillReplayAndLoseNothing() async throws {
        let other = try SessionEngine(store: store, clock: clock)
        let token = try await startSession()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                let engine = index.isMultiple(of: 2) ? self.engine : other
                let header = header(token)
                group.addTask {
                    let session = try await engine.load(cookieHeader: header)
                    session.increment("count")
                    _ = try await engine.commit(session)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await count(token) == 40)
    }

    @Test func storeCallsPastTheInFlightLimitAreRefusedAtOnceWith503Overloaded() async throws {
        var configuration = SessionEngine.Configuration()
        configuration.maximumInFlightStoreOperations = 2
        let limited = try SessionEngine(store: store, configuration: configuration, clock: clock)
        let token = try await startSession()
        let header = header(token)

        let gate = Gate()
        store.loadGate.withLock { $0 = gate }
        async let first = limited.load(cookieHeader: header)
        async let second = limited.load(cookieHeader: header)
        try await eventually { gate.waitingCount == 2 }
        #expect(gate.waitingCount == 2)

        let error = await #expect(throws: SessionStoreError.self) { try await limited.load(cookieHeader: header) }
        #expect(error?.code == .overloaded)
        #expect(error?.responseMessage == "session store 'gated' overloaded: too many operations in flight")

        store.loadGate.withLock { $0 = nil }
        gate.open()
        #expect(try await first.isLoaded)
        #expect(try await second.isLoaded)
        // The slots came back.
        #expect(try await limited.load(cookieHeader: header).isLoaded)
    }

    @Test func aZeroInFlightLimitFailsAtStartUpNamingTheSetting() {
        var configuration = SessionEngine.Configuration()
        configuration.maximumInFlightStoreOperations = 0
        let error = #expect(throws: SessionConfigurationError.self) { try SessionEngine(store: store, configuration: configuration) }
        #expect(error?.setting == "maximumInFlightStoreOperations")
    }
}
