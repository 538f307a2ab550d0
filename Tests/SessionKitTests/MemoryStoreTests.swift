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

    /// Defect (issue 16, item 7): at capacity the store evicted the record that
    /// expires soonest, which under a flood of anonymous sessions (one request
    /// each, no cookie kept) is always the least recently active signed-in user.
    /// Sessions without an owner are evicted first.
    @Test func aFloodOfAnonymousSessionsDoesNotEvictASignedInOne() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(configuration: .init(maximumSessions: 10), clock: clock)
        let signedIn = (0..<3).map { _ in SessionToken.generate().key }
        for (index, key) in signedIn.enumerated() {
            var owned = record(key, expiresIn: 100, from: clock)
            owned.owner = "user-\(index)"
            try await create(owned, in: store)
        }
        for _ in 0..<1_000 {
            try await create(record(SessionToken.generate().key, expiresIn: 1_800, from: clock), in: store)
        }
        #expect(store.count == 10)
        for key in signedIn {
            #expect(try await store.load(key) != nil, "a signed-in session was evicted by anonymous ones")
        }
    }

    /// Once only signed-in sessions are left, the one that expires soonest goes, as before.
    @Test func atCapacityWithOnlySignedInSessionsTheSoonestExpiringGoes() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(configuration: .init(maximumSessions: 2), clock: clock)
        let keys = (0..<3).map { _ in SessionToken.generate().key }
        for (key, seconds) in zip(keys, [300.0, 100, 200]) {
            var owned = record(key, expiresIn: seconds, from: clock)
            owned.owner = "alice"
            try await create(owned, in: store)
        }
        #expect(store.count == 2)
        #expect(try await store.load(keys[1]) == nil)
        #expect(try await store.load(keys[0]) != nil)
        #expect(try await store.load(keys[2]) != nil)
    }

    /// Defect (issue 16, item 8): owners were compared as Swift `String`s, which
    /// are equal under canonical equivalence, so "é" (U+00E9) and "e" + U+0301
    /// were one owner here and two in every other store: revoking one user's
    /// sessions could end another's. Owners are compared by their UTF-8 bytes.
    @Test func ownersAreComparedByTheirBytesNotByCanonicalEquivalence() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        let composed = "\u{E9}"
        let decomposed = "e\u{301}"
        let first = SessionToken.generate().key
        let second = SessionToken.generate().key
        var record1 = record(first, expiresIn: 100, from: clock)
        record1.owner = composed
        var record2 = record(second, expiresIn: 100, from: clock)
        record2.owner = decomposed
        try await create(record1, in: store)
        try await create(record2, in: store)

        #expect(try await store.sessions(of: composed).map(\.record.key) == [first])
        #expect(try await store.sessions(of: decomposed).map(\.record.key) == [second])
        #expect(try await store.deleteSessions(of: decomposed, except: nil) == 1)
        #expect(try await store.load(first) != nil, "revoking one owner ended a canonically equivalent owner's session")
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

extension MemoryStoreTests {
    @Suite struct OwnerIndexTests {
        private func owned(_ owner: String?, expiresIn seconds: TimeInterval, from clock: ManualClock) -> SessionRecord {
            SessionRecord(key: SessionToken.generate().key, data: [7], expiresAt: clock.now() + seconds, owner: owner)
        }

        private func create(_ record: SessionRecord, in store: MemoryStore) async throws -> SessionVersion {
            let result = try await store.save(record, expecting: nil)
            guard case .saved(let version) = result else { throw ModelMismatch() }
            return version
        }

        private func listed(_ owner: String, in store: MemoryStore) async throws -> Set<SessionKey> {
            Set(try await store.sessions(of: owner).map(\.record.key))
        }

        @Test func loadReturnsTheOwner() async throws {
            let clock = ManualClock()
            let store = try MemoryStore(clock: clock)
            let record = owned("alice", expiresIn: 60, from: clock)
            _ = try await create(record, in: store)

            #expect(try await store.load(record.key)?.record.owner == "alice")
            #expect(try await store.sessions(of: "alice").first?.record == record)
        }

        @Test func ownerMovesOnSave() async throws {
            let clock = ManualClock()
            let store = try MemoryStore(clock: clock)
            var record = owned("alice", expiresIn: 60, from: clock)
            let kept = owned("alice", expiresIn: 60, from: clock)
            let version = try await create(record, in: store)
            _ = try await create(kept, in: store)

            record.owner = "bob"
            #expect(try await store.save(record, expecting: version) == .saved(version.next))

            #expect(try await listed("alice", in: store) == [kept.key])
            #expect(try await listed("bob", in: store) == [record.key])
            #expect(try await store.load(record.key)?.record.owner == "bob")
        }

        @Test func touchKeepsTheOwner() async throws {
            let clock = ManualClock()
            let store = try MemoryStore(clock: clock)
            let record = owned("alice", expiresIn: 60, from: clock)
            _ = try await create(record, in: store)

            try await store.touch(record.key, expiresAt: clock.now() + 120)
            clock.advance(by: .seconds(90))

            #expect(try await listed("alice", in: store) == [record.key])
        }

        /// A key left in an owner's set after its record went would list a later
        /// record under the same key, saved without an owner, as the owner's.
        @Test func evictionTakesTheKeyOutOfItsOwnersSet() async throws {
            let clock = ManualClock()
            let store = try MemoryStore(configuration: .init(maximumSessions: 2), clock: clock)
            let evicted = owned("alice", expiresIn: 100, from: clock)
            let survivor = owned("alice", expiresIn: 300, from: clock)
            _ = try await create(evicted, in: store)
            _ = try await create(survivor, in: store)

            _ = try await create(owned(nil, expiresIn: 200, from: clock), in: store)
            #expect(try await store.load(evicted.key) == nil)
            #expect(try await listed("alice", in: store) == [survivor.key])

            var anonymous = evicted
            anonymous.owner = nil
            _ = try await create(anonymous, in: store)
            #expect(try await listed("alice", in: store) == [survivor.key])
        }

        @Test func sweepTakesExpiredKeysOutOfTheirOwnersSet() async throws {
            let clock = ManualClock()
            let store = try MemoryStore(clock: clock)
            let expiring = owned("alice", expiresIn: 60, from: clock)
            let live = owned("alice", expiresIn: 600, from: clock)
            _ = try await create(expiring, in: store)
            _ = try await create(live, in: store)
            clock.advance(by: .seconds(60))

            #expect(store.sweepExpired() == 1)
            var anonymous = expiring
            anonymous.owner = nil
            anonymous.expiresAt = clock.now() + 60
            _ = try await create(anonymous, in: store)

            #expect(try await listed("alice", in: store) == [live.key])
        }

        @Test func expiredRecordsAreNotListedAndNotCountedAsDeleted() async throws {
            let clock = ManualClock()
            let store = try MemoryStore(clock: clock)
            let expiring = owned("alice", expiresIn: 60, from: clock)
            let live = owned("alice", expiresIn: 600, from: clock)
            _ = try await create(expiring, in: store)
            _ = try await create(live, in: store)
            clock.advance(by: .seconds(60))

            #expect(try await listed("alice", in: store) == [live.key])
            #expect(store.count == 1)  // Listing removed the expired record.
            _ = try await create(owned("alice", expiresIn: 10, from: clock), in: store)
            clock.advance(by: .seconds(10))
            #expect(try await store.deleteSessions(of: "alice", except: nil) == 1)
            #expect(store.count == 0)
        }

        /// Random creates, updates that change owners, touches, deletes and
        /// deletions by owner; every owner's listing must match a model.
        @Test func listingsMatchAModelAfterManyChanges() async throws {
            let clock = ManualClock()
            let store = try MemoryStore(clock: clock)
            var generator = SplitMix64(seed: 0x0A11_CE5B_0B)
            let owners: [String?] = ["alice", "bob", "carol", nil]
            let keys = (0..<100).map { _ in SessionToken.generate().key }
            var model: [SessionKey: (owner: String?, version: SessionVersion)] = [:]
            for _ in 0..<3_000 {
                let key = keys[Int.random(in: 0..<keys.count, using: &generator)]
                let owner = owners[Int.random(in: 0..<owners.count, using: &generator)]
                let record = SessionRecord(key: key, data: [1], expiresAt: clock.now() + 3_600, owner: owner)
                switch (Int.random(in: 0..<10, using: &generator), model[key]) {
                case (_, nil):
                    model[key] = (owner, try await create(record, in: store))
                case (0, _):
                    try await store.delete(key)
                    model[key] = nil
                case (1, _):
                    guard let owner else { continue }
                    let expected = model.filter { $0.value.owner == owner && $0.key != key }.count
                    #expect(try await store.deleteSessions(of: owner, except: key) == expected)
                    model = model.filter { $0.value.owner != owner || $0.key == key }
                case (2...5, let entry?):
                    guard case .saved(let version) = try await store.save(record, expecting: entry.version) else {
                        throw ModelMismatch()
                    }
                    model[key] = (owner, version)
                default:
                    try await store.touch(key, expiresAt: clock.now() + 3_600)
                }
            }

            for case let owner? in owners {
                let expected = Set(model.filter { $0.value.owner == owner }.keys)
                #expect(try await listed(owner, in: store) == expected, "owner \(owner)")
            }
        }
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
