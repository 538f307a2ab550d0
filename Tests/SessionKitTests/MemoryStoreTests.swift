import Foundation
import SessionKit
import SessionKitConformance
import Testing

@Suite struct MemoryStoreTests {
    private func record(_ key: SessionKey, expiresIn seconds: TimeInterval, from clock: ManualClock) -> SessionRecord {
        SessionRecord(key: key, data: Array(key.hex.utf8.prefix(8)), expiresAt: clock.now() + seconds)
    }

    private func create(_ record: SessionRecord, in store: MemoryStore) async throws {
        let result = try await store.save(record, expecting: nil)
        guard case .saved = result else {
            Issue.record("creating a record returned \(result)")
            return
        }
    }

    @Test func creatingPastCapacityEvictsTheSoonestExpiringRecord() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(configuration: .init(maximumSessions: 3), clock: clock)
        let keys = (0..<4).map { _ in SessionToken.generate().key }
        try await create(record(keys[0], expiresIn: 300, from: clock), in: store)
        try await create(record(keys[1], expiresIn: 100, from: clock), in: store)
        try await create(record(keys[2], expiresIn: 200, from: clock), in: store)

        try await create(record(keys[3], expiresIn: 400, from: clock), in: store)

        #expect(store.count == 3)
        #expect(try await store.load(keys[1]) == nil)
        for key in [keys[0], keys[2], keys[3]] {
            #expect(try await store.load(key) != nil)
        }
    }

    @Test func creatingPastCapacityDropsEveryExpiredRecordFirst() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(configuration: .init(maximumSessions: 3), clock: clock)
        let keys = (0..<4).map { _ in SessionToken.generate().key }
        try await create(record(keys[0], expiresIn: 10, from: clock), in: store)
        try await create(record(keys[1], expiresIn: 20, from: clock), in: store)
        try await create(record(keys[2], expiresIn: 300, from: clock), in: store)
        clock.advance(by: .seconds(30))

        try await create(record(keys[3], expiresIn: 300, from: clock), in: store)

        // Both expired records went, not just the one needed to make room.
        #expect(store.count == 2)
        #expect(try await store.load(keys[2]) != nil)
        #expect(try await store.load(keys[3]) != nil)
    }

    @Test func touchMovesARecordInEvictionOrder() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(configuration: .init(maximumSessions: 3), clock: clock)
        let keys = (0..<4).map { _ in SessionToken.generate().key }
        try await create(record(keys[0], expiresIn: 100, from: clock), in: store)
        try await create(record(keys[1], expiresIn: 200, from: clock), in: store)
        try await create(record(keys[2], expiresIn: 300, from: clock), in: store)
        try await store.touch(keys[0], expiresAt: clock.now() + 400)

        try await create(record(keys[3], expiresIn: 500, from: clock), in: store)

        #expect(try await store.load(keys[1]) == nil)
        #expect(try await store.load(keys[0]) != nil)
    }

    @Test func updatesAtCapacityEvictNothing() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(configuration: .init(maximumSessions: 2), clock: clock)
        let first = record(SessionToken.generate().key, expiresIn: 100, from: clock)
        let second = record(SessionToken.generate().key, expiresIn: 200, from: clock)
        try await create(first, in: store)
        try await create(second, in: store)
        let version = try #require(try await store.load(second.key)?.version)

        var updated = second
        updated.data = [1, 2, 3]
        #expect(try await store.save(updated, expecting: version) == .saved(version.next))

        #expect(store.count == 2)
        #expect(try await store.load(first.key) != nil)
    }

    @Test func creatingOverAnExpiredRecordUsesTheNextVersion() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        let first = record(SessionToken.generate().key, expiresIn: 10, from: clock)
        try await create(first, in: store)
        clock.advance(by: .seconds(20))

        let result = try await store.save(record(first.key, expiresIn: 10, from: clock), expecting: nil)

        // A request still holding version 1 of the expired record cannot overwrite the new one.
        #expect(result == .saved(SessionVersion.initial.next))
    }

    @Test func sweepRemovesOnlyExpiredRecords() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        let short = (0..<2).map { _ in SessionToken.generate().key }
        let long = SessionToken.generate().key
        for key in short { try await create(record(key, expiresIn: 60, from: clock), in: store) }
        try await create(record(long, expiresIn: 3600, from: clock), in: store)
        #expect(store.sweepExpired() == 0)

        clock.advance(by: .seconds(60))

        #expect(store.sweepExpired() == 2)
        #expect(store.count == 1)
        #expect(try await store.load(long) != nil)
        #expect(store.sweepExpired() == 0)
    }

    @Test func loadRemovesAnExpiredRecord() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        let key = SessionToken.generate().key
        try await create(record(key, expiresIn: 60, from: clock), in: store)
        clock.advance(by: .seconds(60))

        #expect(try await store.load(key) == nil)
        #expect(store.count == 0)
    }

    /// Many touches, updates and deletes leave stale heap entries behind; sweeps
    /// must still remove exactly the records whose expiry has passed.
    @Test func sweepsMatchAModelAfterManyChanges() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        var generator = SplitMix64(seed: 0x5E55_1011)
        let keys = (0..<200).map { _ in SessionToken.generate().key }
        var model: [SessionKey: (expiresIn: Int, version: SessionVersion)] = [:]
        for key in keys {
            let expiresIn = Int.random(in: 1...1_000, using: &generator)
            let result = try await store.save(record(key, expiresIn: TimeInterval(expiresIn), from: clock), expecting: nil)
            guard case .saved(let version) = result else { throw ModelMismatch() }
            model[key] = (expiresIn, version)
        }
        for _ in 0..<5_000 {
            let key = keys[Int.random(in: 0..<keys.count, using: &generator)]
            let expiresIn = Int.random(in: 1...1_000, using: &generator)
            guard let entry = model[key] else { continue }
            switch Int.random(in: 0..<10, using: &generator) {
            case 0:
                try await store.delete(key)
                model[key] = nil
            case 1...3:
                let result = try await store.save(
                    record(key, expiresIn: TimeInterval(expiresIn), from: clock),
                    expecting: entry.version
                )
                guard case .saved(let version) = result else { throw ModelMismatch() }
                model[key] = (expiresIn, version)
            default:
                try await store.touch(key, expiresAt: clock.now() + TimeInterval(expiresIn))
                model[key]?.expiresIn = expiresIn
            }
        }

        for elapsed in stride(from: 100, through: 1_000, by: 100) {
            clock.advance(by: .seconds(100))
            let expected = model.values.filter { $0.expiresIn <= elapsed && $0.expiresIn > elapsed - 100 }.count
            #expect(store.sweepExpired() == expected, "after \(elapsed) s")
            #expect(store.count == model.values.filter { $0.expiresIn > elapsed }.count, "after \(elapsed) s")
        }
    }

    @Test func runReturnsWhenCancelled() async throws {
        let store = try MemoryStore(configuration: .init(sweepInterval: .seconds(3_600)))
        let sweeper = Task { try await store.run() }
        sweeper.cancel()
        try await sweeper.value
    }

    @Test(arguments: [0, -1])
    func maximumSessionsBelowOneIsRejected(_ maximum: Int) {
        let error = #expect(throws: SessionConfigurationError.self) {
            try MemoryStore(configuration: .init(maximumSessions: maximum))
        }
        #expect(error?.setting == "MemoryStore.maximumSessions")
    }

    @Test(arguments: [Duration.zero, .seconds(-1)])
    func nonPositiveSweepIntervalIsRejected(_ interval: Duration) {
        let error = #expect(throws: SessionConfigurationError.self) {
            try MemoryStore(configuration: .init(sweepInterval: interval))
        }
        #expect(error?.setting == "MemoryStore.sweepInterval")
    }

    @Test func notANumberExpiryIsInvalidData() async throws {
        let store = try MemoryStore()
        let record = SessionRecord(key: SessionToken.generate().key, data: [], expiresAt: Date(timeIntervalSinceReferenceDate: .nan))
        let error = await #expect(throws: SessionStoreError.self) {
            try await store.save(record, expecting: nil)
        }
        #expect(error?.code == .invalidData)
    }
}

private struct ModelMismatch: Error {}

/// A small seeded generator, so a failing model test can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
