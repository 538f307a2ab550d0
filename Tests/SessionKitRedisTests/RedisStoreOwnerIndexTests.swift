#if Redis
import Foundation
import SessionKit
import SessionKitConformance
import Testing

@testable import SessionKitRedis

extension RedisStoreTests {
    /// How the Redis store keeps its owner index: the hash's `o` and `i` fields and
    /// one set of session keys per owner.
    @Suite(.enabled(if: RedisTestServer.shouldRun, "REDIS_URL not set; run scripts/test"))
    struct OwnerIndexTests {
        private func owned(_ owner: String?, expiringIn seconds: TimeInterval = 600, from now: Date = Date()) -> SessionRecord {
            SessionRecord(key: SessionToken.generate().key, data: [1, 2, 3], expiresAt: now + seconds, owner: owner)
        }

        private func hash(_ store: RedisStore, _ key: SessionKey) async throws -> [String: String] {
            let reply = try await store.send(RESPCommand("HGETALL", .string(store.configuration.keyPrefix + key.hex)))
            guard case .array(let values) = reply else { throw TestFailure("HGETALL answered \(reply)") }
            var fields: [String: String] = [:]
            for index in stride(from: 0, to: values.count - 1, by: 2) {
                fields[values[index].string ?? "?"] = values[index + 1].string
            }
            return fields
        }

        private func members(_ store: RedisStore, of owner: String) async throws -> Set<String> {
            let reply = try await store.send(RESPCommand("ZRANGE", ownerSet(store, owner), .string("0"), .string("-1")))
            guard case .array(let values) = reply else { throw TestFailure("ZRANGE answered \(reply)") }
            return Set(values.compactMap(\.string))
        }

        private func ownerSet(_ store: RedisStore, _ owner: String) -> RESPCommand.Argument {
            store.ownerSetKey(RedisStore.ownerDigest(owner))
        }

        @Test func ownerIsKeptInTheHashAndLoadedBack() async throws {
            let store = try RedisStore.forTesting()
            // The key prefix is the test's own, so a fixed owner with a known SHA-256 meets no other test.
            let owner = "abc"
            let record = owned(owner)
            #expect(try await store.save(record, expecting: nil) == .saved(.initial))

            let fields = try await hash(store, record.key)
            #expect(fields.keys.sorted() == ["d", "e", "i", "o", "v"])
            #expect(fields["o"] == owner)
            let digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
            #expect(fields["i"] == digest)
            #expect(try await store.load(record.key)?.record.owner == owner)
            #expect(try await members(store, of: owner) == [record.key.hex])
            let setKey = store.configuration.keyPrefix + "owners:" + digest
            #expect(try await store.send(RESPCommand("EXISTS", .string(setKey))) == .integer(1))
            await store.shutdown()
        }

        @Test(arguments: OwnerSample.all)
        func anyOwnerTextRoundTripsThroughLoadAndListing(_ sample: OwnerSample) async throws {
            let owner = sample.owner
            let store = try RedisStore.forTesting()
            let record = owned(owner)
            _ = try await store.save(record, expecting: nil)
            #expect(try await store.load(record.key)?.record.owner == owner)
            #expect(try await store.sessions(of: owner).map(\.record) == [record.withExpiryInMilliseconds])
            await store.shutdown()
        }

        @Test func savingWithoutAnOwnerClearsTheFieldsAndLeavesTheSet() async throws {
            let store = try RedisStore.forTesting()
            let owner = "owner-\(UUID().uuidString)"
            var record = owned(owner)
            _ = try await store.save(record, expecting: nil)
            record.owner = nil
            #expect(try await store.save(record, expecting: .initial) == .saved(SessionVersion(2)))

            #expect(try await hash(store, record.key).keys.sorted() == ["d", "e", "v"])
            #expect(try await store.load(record.key)?.record.owner == nil)
            // The set's last member left, so Redis removed the set.
            #expect(try await store.send(RESPCommand("EXISTS", ownerSet(store, owner))) == .integer(0))
            await store.shutdown()
        }

        @Test func deleteRemovesTheKeyFromItsOwnersSet() async throws {
            let store = try RedisStore.forTesting()
            let owner = "owner-\(UUID().uuidString)"
            let kept = owned(owner)
            let deleted = owned(owner)
            for record in [kept, deleted] { _ = try await store.save(record, expecting: nil) }
            try await store.delete(deleted.key)
            #expect(try await members(store, of: owner) == [kept.key.hex])
            await store.shutdown()
        }

        @Test func ownerSetLastsAsLongAsItsLongestLivedMember() async throws {
            let store = try RedisStore.forTesting()
            let owner = "owner-\(UUID().uuidString)"
            let now = Date()
            let first = owned(owner, expiringIn: 600, from: now)
            let second = owned(owner, expiringIn: 1_200, from: now)
            let shorter = owned(owner, expiringIn: 300, from: now)
            func setExpiry() async throws -> RESPValue {
                try await store.send(RESPCommand("PEXPIRETIME", ownerSet(store, owner)))
            }

            _ = try await store.save(first, expecting: nil)
            #expect(try await setExpiry() == .integer(RedisStore.milliseconds(first.expiresAt)))
            _ = try await store.save(second, expecting: nil)
            #expect(try await setExpiry() == .integer(RedisStore.milliseconds(second.expiresAt)))
            _ = try await store.save(shorter, expecting: nil)
            #expect(try await setExpiry() == .integer(RedisStore.milliseconds(second.expiresAt)), "a shorter-lived member shortened the set")

            // A touch extends the session past every other member: the set follows it.
            let touched = now + 1_800
            try await store.touch(first.key, expiresAt: touched)
            #expect(try await setExpiry() == .integer(RedisStore.milliseconds(touched)))
            await store.shutdown()
        }

        @Test func ownerSetIsCleanedWhenListedAfterMembersExpire() async throws {
            let clock = ManualClock(now: Date())
            let store = try RedisStore.forTesting(clock: clock)
            let owner = "owner-\(UUID().uuidString)"
            let live = owned(owner, expiringIn: 600, from: clock.now())
            let expiring = owned(owner, expiringIn: 60, from: clock.now())
            let evicted = owned(owner, expiringIn: 600, from: clock.now())
            for record in [live, expiring, evicted] { _ = try await store.save(record, expecting: nil) }
            // Redis removes an expired hash by itself, without running the store's scripts.
            _ = try await store.send(RESPCommand("DEL", .string(store.configuration.keyPrefix + evicted.key.hex)))
            clock.advance(by: .seconds(61))
            #expect(try await members(store, of: owner).count == 3)

            let listed = try await store.sessions(of: owner)
            #expect(listed.map(\.record.key) == [live.key])
            #expect(listed.first?.record.owner == owner)
            #expect(try await members(store, of: owner) == [live.key.hex], "listing did not remove the dead members")
            await store.shutdown()
        }

        @Test func memberWhoseRecordMovedToAnotherOwnerIsNeitherListedNorDeleted() async throws {
            let store = try RedisStore.forTesting()
            let alice = "owner-\(UUID().uuidString)"
            let bob = "owner-\(UUID().uuidString)"
            let bobs = owned(bob)
            _ = try await store.save(bobs, expecting: nil)
            // A stale member, as a lost update could leave, must not let Alice reach Bob's session.
            _ = try await store.send(RESPCommand("ZADD", ownerSet(store, alice), .string("0"), .string(bobs.key.hex)))

            #expect(try await store.deleteSessions(of: alice, except: nil) == 0)
            #expect(try await store.load(bobs.key) != nil, "deleting Alice's sessions deleted Bob's")
            _ = try await store.send(RESPCommand("ZADD", ownerSet(store, alice), .string("0"), .string(bobs.key.hex)))
            #expect(try await store.sessions(of: alice).isEmpty)
            #expect(try await members(store, of: alice).isEmpty)
            #expect(try await store.sessions(of: bob).map(\.record.key) == [bobs.key])
            await store.shutdown()
        }

        @Test func saveIntoALargeOwnerSetRemovesSomeDeadMembers() async throws {
            let store = try RedisStore.forTesting()
            let owner = "owner-\(UUID().uuidString)"
            let dead = (0..<1_500).map { _ in SessionToken.generate().key.hex }
            _ = try await store.send(RESPCommand("ZADD", [ownerSet(store, owner)] + dead.flatMap { [.string("0"), .string($0)] }))

            let record = owned(owner)
            _ = try await store.save(record, expecting: nil)
            guard case .integer(let count) = try await store.send(RESPCommand("ZCARD", ownerSet(store, owner))) else {
                throw TestFailure("ZCARD did not answer with an integer")
            }
            // 20 random members are checked; only the new one among them is live.
            #expect((1_481...1_482).contains(count))
            #expect(try await store.sessions(of: owner).map(\.record.key) == [record.key])
            #expect(try await members(store, of: owner) == [record.key.hex])
            await store.shutdown()
        }

        /// An owner set written before paging (a plain set) is moved into the
        /// sorted set a page at a time: listing and revoking miss none of its sessions.
        @Test func plainOwnerSetOfBeforePagingIsDrainedWithoutMissingASession() async throws {
            let store = try RedisStore.forTesting()
            let owner = "owner-\(UUID().uuidString)"
            let records = (0..<25).map { _ in owned(owner) }
            for record in records { _ = try await store.save(record, expecting: nil) }
            // Rebuild the index as an older store kept it: a plain set under `owner:`.
            let plain = RESPCommand.Argument.string(store.plainOwnerSetKeyPrefix + RedisStore.ownerDigest(owner))
            _ = try await store.send(RESPCommand("DEL", ownerSet(store, owner)))
            _ = try await store.send(RESPCommand("SADD", [plain] + records.map { .string($0.key.hex) }))
            _ = try await store.send(RESPCommand("PEXPIRE", plain, .string("600000")))

            var seen: Set<SessionKey> = []
            var cursor: SessionOwnerCursor?
            var pages = 0
            repeat {
                let page = try await store.sessions(of: owner, limit: 4, cursor: cursor)
                #expect(page.sessions.count <= 4)
                seen.formUnion(page.sessions.map(\.record.key))
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 100
            #expect(seen == Set(records.map(\.key)))
            #expect(try await store.send(RESPCommand("EXISTS", plain)) == .integer(0))
            #expect(try await members(store, of: owner).count == 25)

            _ = try await store.send(RESPCommand("DEL", ownerSet(store, owner)))
            _ = try await store.send(RESPCommand("SADD", [plain] + records.map { .string($0.key.hex) }))
            #expect(try await store.deleteSessions(of: owner, except: nil) == 25)
            for record in records { #expect(try await store.load(record.key) == nil) }
            await store.shutdown()
        }

        /// A page reads a bounded slice of a large owner set: with 5,000 members
        /// it answers 10 sessions and Redis's own statistics show no command that
        /// reads the whole set (`SMEMBERS`) ran.
        @Test func pageOfAHugeOwnerSetReadsOnlyThePage() async throws {
            let store = try RedisStore.forTesting()
            let owner = "owner-\(UUID().uuidString)"
            let records = (0..<30).map { _ in owned(owner) }
            for record in records { _ = try await store.save(record, expecting: nil) }
            // 5,000 members whose records are gone, sorting after the live ones
            // (except the few live keys that start with "f" too).
            let dead = (0..<5_000).map { number in
                let digits = String(number, radix: 16)
                return "f" + String(repeating: "0", count: 63 - digits.count) + digits
            }
            _ = try await store.send(RESPCommand("ZADD", [ownerSet(store, owner)] + dead.flatMap { [.string("0"), .string($0)] }))
            let before = try await commandCalls(store, "smembers")
            let page = try await store.sessions(of: owner, limit: 10, cursor: nil)
            #expect(page.sessions.count == 10)
            #expect(page.nextCursor != nil)
            let revoked = try await store.deleteSessions(of: owner, except: nil, limit: 10)
            #expect(revoked.deleted == 10 && revoked.hasMore)
            #expect(try await commandCalls(store, "smembers") == before, "a page ran SMEMBERS over the whole owner set")
            guard case .integer(let left) = try await store.send(RESPCommand("ZCARD", ownerSet(store, owner))) else {
                throw TestFailure("ZCARD did not answer with an integer")
            }
            #expect(left == 5_020, "one bounded call removed \(5_030 - left) members, expected 10")
            await store.shutdown()
        }

        /// How many times Redis ran `command` since it started (scripts' calls included).
        private func commandCalls(_ store: RedisStore, _ command: String) async throws -> Int {
            let reply = try await store.send(RESPCommand("INFO", .string("commandstats")))
            let text = reply.string ?? ""
            guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") }),
                let calls = line.split(separator: ",").first?.split(separator: "=").last, let count = Int(calls)
            else { return 0 }
            return count
        }
    }
}

extension SessionRecord {
    /// The record with its expiry rounded to the millisecond, as the store keeps it.
    fileprivate var withExpiryInMilliseconds: SessionRecord {
        var record = self
        record.expiresAt = Date(timeIntervalSince1970: Double(RedisStore.milliseconds(expiresAt)) / 1000)
        return record
    }
}

/// A test precondition that did not hold.
struct TestFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

/// An owner id that is easy to get wrong, named for the test log (the ids
/// themselves hold a NUL byte or run to 10,000 characters).
struct OwnerSample: Sendable, CustomTestStringConvertible {
    let testDescription: String
    let owner: String

    static let all = [
        OwnerSample(testDescription: "empty", owner: ""),
        OwnerSample(testDescription: "non-ASCII", owner: "ユーザー é"),
        OwnerSample(testDescription: "with a NUL byte", owner: "a\u{0}b"),
        OwnerSample(testDescription: "10,000 characters", owner: String(repeating: "x", count: 10_000)),
    ]
}
#endif  // Redis
