import Foundation
import SessionKit

extension SessionStoreConformance {
    /// The checks of ``SessionKit/SessionOwnerIndex``: an owner's live sessions are
    /// listed, moved and removed with their records, and revoking through the
    /// engine signs a device out without letting its in-flight request bring it back.
    ///
    /// A store that does not implement the index fails each of these checks; run
    /// ``coreChecks`` for such a store.
    public static var ownerIndexChecks: [Check] {
        [
            Check("an owner's live sessions are listed, and nobody else's") { store in
                let index = try ownerIndex(store)
                let owner = newOwner()
                let other = newOwner()
                let first = SessionRecord(key: newKey(), data: [1], expiresAt: Date() + 600, owner: owner)
                let second = SessionRecord(key: newKey(), data: [2], expiresAt: Date() + 600, owner: owner)
                let foreign = SessionRecord(key: newKey(), data: [3], expiresAt: Date() + 600, owner: other)
                let anonymous = SessionRecord(key: newKey(), data: [4], expiresAt: Date() + 600)
                for record in [first, second, foreign, anonymous] { _ = try await store.save(record, expecting: nil) }
                let listed = try await index.sessions(of: owner)
                try expect(
                    Set(listed.map(\.record.key)) == [first.key, second.key],
                    "sessions(of:) listed \(listed.count) sessions, expected exactly the owner's 2"
                )
                let data = Set(listed.map(\.record.data))
                try expect(data == [[1], [2]], "sessions(of:) returned other data than was saved")
                try expect(try await index.sessions(of: newOwner()).isEmpty, "an owner without sessions listed some")
            },

            Check("expired and deleted sessions are not listed") { store in
                let index = try ownerIndex(store)
                let owner = newOwner()
                let live = SessionRecord(key: newKey(), data: [1], expiresAt: Date() + 600, owner: owner)
                let expired = SessionRecord(key: newKey(), data: [2], expiresAt: Date() - 5, owner: owner)
                let deleted = SessionRecord(key: newKey(), data: [3], expiresAt: Date() + 600, owner: owner)
                for record in [live, expired, deleted] { _ = try await store.save(record, expecting: nil) }
                try await store.delete(deleted.key)
                let listed = try await index.sessions(of: owner).map(\.record.key)
                try expect(listed == [live.key], "listed \(listed.count) sessions, expected only the live one")
            },

            Check("a session saved under another owner moves, and one saved without an owner leaves the index") { store in
                let index = try ownerIndex(store)
                let alice = newOwner()
                let bob = newOwner()
                let record = SessionRecord(key: newKey(), data: [1], expiresAt: Date() + 600, owner: alice)
                guard case .saved(let version) = try await store.save(record, expecting: nil) else { throw fail("the first save conflicted") }
                var moved = record
                moved.owner = bob
                guard case .saved(let next) = try await store.save(moved, expecting: version) else { throw fail("the update conflicted") }
                try expect(try await index.sessions(of: alice).isEmpty, "the session is still listed under its former owner")
                try expect(try await index.sessions(of: bob).map(\.record.key) == [record.key], "the session is not listed under its new owner")
                var anonymous = record
                anonymous.owner = nil
                guard case .saved = try await store.save(anonymous, expecting: next) else { throw fail("the second update conflicted") }
                try expect(try await index.sessions(of: bob).isEmpty, "a session saved without an owner is still listed")
            },

            Check("deleting an owner's sessions keeps the one excepted and nobody else's") { store in
                let index = try ownerIndex(store)
                let owner = newOwner()
                let other = newOwner()
                let records = (0..<3).map { SessionRecord(key: newKey(), data: [UInt8($0)], expiresAt: Date() + 600, owner: owner) }
                let foreign = SessionRecord(key: newKey(), data: [9], expiresAt: Date() + 600, owner: other)
                for record in records + [foreign] { _ = try await store.save(record, expecting: nil) }
                let deleted = try await index.deleteSessions(of: owner, except: records[0].key)
                try expect(deleted == 2, "deleteSessions(of:except:) reported \(deleted) deletions, expected 2")
                try expect(try await store.load(records[0].key) != nil, "the excepted session was deleted")
                for record in records.dropFirst() {
                    try expect(try await store.load(record.key) == nil, "a session of the owner survived deleteSessions")
                }
                try expect(try await store.load(foreign.key) != nil, "another owner's session was deleted")
                try expect(try await index.deleteSessions(of: owner, except: nil) == 1, "deleting all remaining sessions did not delete 1")
                try expect(try await store.load(records[0].key) == nil, "deleteSessions(except: nil) left a session")
            },

            Check("revoking through the engine lists, marks the current session and signs the device out") { store in
                let engine = try makeEngine(store)
                let owner = newOwner()
                let laptop = try await signIn(engine, owner: owner)
                let phone = try await signIn(engine, owner: owner)
                let current = try await engine.load(cookieHeader: laptop)
                let listed = try await engine.sessions(of: owner, current: current)
                try expect(listed.count == 2, "the owner has 2 sessions, \(listed.count) were listed")
                try expect(listed.filter(\.isCurrent).count == 1, "exactly one listed session must be the current one")
                guard let phoneHandle = listed.first(where: { !$0.isCurrent })?.handle else { throw fail("no other session listed") }
                try expect(!(try await engine.revokeSession(handle: phoneHandle, of: newOwner())), "another owner revoked the session")
                try expect(try await engine.revokeSession(handle: phoneHandle, of: owner), "revoking by handle revoked nothing")
                try expect(!(try await engine.load(cookieHeader: phone).isLoaded), "the revoked device still has its session")
                try expect(try await engine.load(cookieHeader: laptop).isLoaded, "revoking another device signed this one out")
                try expect(try await engine.sessions(of: owner).count == 1, "the revoked session is still listed")
            },

            Check("a request in flight while its session is revoked does not bring it back") { store in
                let engine = try makeEngine(store)
                let owner = newOwner()
                let laptop = try await signIn(engine, owner: owner)
                let phone = try await signIn(engine, owner: owner)
                let inFlight = try await engine.load(cookieHeader: phone)
                let asking = try await engine.load(cookieHeader: laptop)
                let revoked = try await engine.revokeSessions(of: owner, except: asking)
                try expect(revoked == 1, "revokeSessions(of:except:) revoked \(revoked), expected 1")
                inFlight.put("late", "write")
                do {
                    let result = try await engine.commit(inFlight)
                    throw fail("the in-flight request's commit did \(result.action), expected the error sessionEnded")
                } catch let error as SessionStoreError where error.code == .sessionEnded {}
                try expect(!(try await engine.load(cookieHeader: phone).isLoaded), "the in-flight request brought the revoked session back")
                try expect(try await engine.load(cookieHeader: laptop).isLoaded, "the asking session was revoked too")
            },

            Check("a page never holds more than its limit, and paging lists every live session exactly once") { store in
                let index = try ownerIndex(store)
                let owner = newOwner()
                let live = (0..<23).map { SessionRecord(key: newKey(), data: [UInt8($0)], expiresAt: Date() + 600, owner: owner) }
                let expired = (0..<3).map { _ in SessionRecord(key: newKey(), data: [0], expiresAt: Date() - 5, owner: owner) }
                let foreign = SessionRecord(key: newKey(), data: [9], expiresAt: Date() + 600, owner: newOwner())
                for record in live + expired + [foreign] { _ = try await store.save(record, expecting: nil) }
                for limit in [1, 4, 10, 100] {
                    var seen: [SessionKey] = []
                    var cursor: SessionOwnerCursor?
                    var pages = 0
                    repeat {
                        let page = try await index.sessions(of: owner, limit: limit, cursor: cursor)
                        try expect(page.sessions.count <= limit, "a page of limit \(limit) held \(page.sessions.count) sessions")
                        seen += page.sessions.map(\.record.key)
                        cursor = page.nextCursor
                        pages += 1
                        try expect(pages <= 10 * live.count, "paging with limit \(limit) did not end")
                    } while cursor != nil
                    try expect(seen.count == Set(seen).count, "paging with limit \(limit) listed a session twice")
                    try expect(
                        Set(seen) == Set(live.map(\.key)),
                        "paging with limit \(limit) listed \(Set(seen).count) sessions, expected exactly the owner's \(live.count) live ones"
                    )
                }
                let empty = try await index.sessions(of: newOwner(), limit: 10, cursor: nil)
                try expect(empty.sessions.isEmpty && empty.nextCursor == nil, "an owner without sessions has a page or a next one")
            },

            Check("deleting an owner's many sessions goes page by page, each call bounded, and ends them all") { store in
                let index = try ownerIndex(store)
                let owner = newOwner()
                let records = (0..<60).map { _ in SessionRecord(key: newKey(), data: [1], expiresAt: Date() + 600, owner: owner) }
                let foreign = SessionRecord(key: newKey(), data: [9], expiresAt: Date() + 600, owner: newOwner())
                for record in records + [foreign] { _ = try await store.save(record, expecting: nil) }
                let kept = records[30].key
                var deleted = 0
                var calls = 0
                while true {
                    let step = try await index.deleteSessions(of: owner, except: kept, limit: 7)
                    try expect(step.deleted <= 7, "one call with limit 7 deleted \(step.deleted) sessions")
                    deleted += step.deleted
                    calls += 1
                    try expect(calls <= 100, "deleting page by page did not end")
                    if !step.hasMore { break }
                }
                try expect(calls >= 9, "59 sessions were deleted in \(calls) calls of at most 7")
                try expect(deleted == 59, "deleting page by page reported \(deleted) deletions, expected 59")
                try expect(try await store.load(kept) != nil, "the excepted session was deleted")
                try expect(try await store.load(foreign.key) != nil, "another owner's session was deleted")
                for record in records where record.key != kept {
                    try expect(try await store.load(record.key) == nil, "a session of the owner survived")
                }
                let left = try await index.allSessions(of: owner)
                try expect(left.map(\.record.key) == [kept], "\(left.count) sessions are listed, expected only the kept one")
            },

            Check("revoking every session of an owner with many more than a page ends them all") { store in
                let engine = try makeEngine(store)
                let owner = newOwner()
                let records = (0..<150).map { _ in SessionRecord(key: newKey(), data: [1], expiresAt: Date() + 600, owner: owner) }
                for record in records { _ = try await store.save(record, expecting: nil) }
                let revoked = try await engine.revokeSessions(of: owner)
                try expect(revoked == 150, "revokeSessions(of:) revoked \(revoked) of 150 sessions")
                for record in records {
                    try expect(try await store.load(record.key) == nil, "a revoked session is still loadable")
                }
            },

            Check("a login past maximumSessionsPerOwner ends the owner's least recently used session") { store in
                let clock = ManualClock(now: Date())
                var configuration = SessionEngine.Configuration(cookie: .init(isSecure: false))
                configuration.maximumSessionsPerOwner = 3
                let engine = try SessionEngine(store: store, configuration: configuration, clock: clock)
                let owner = newOwner()
                let laptop = try await signIn(engine, owner: owner)
                clock.advance(by: .seconds(1))
                let phone = try await signIn(engine, owner: owner)
                clock.advance(by: .seconds(1))
                let tablet = try await signIn(engine, owner: owner)
                // The laptop is used after the others signed in: the phone is now the least recently used.
                clock.advance(by: .seconds(120))
                let use = try await engine.load(cookieHeader: laptop)
                let touched = try await engine.commit(use)
                try expect(touched.action == .touched, "using the laptop after 2 minutes did \(touched.action), expected touched")
                try expect(try await engine.sessions(of: owner).count == 3, "the owner at the limit lost a session before a new login")
                clock.advance(by: .seconds(1))
                let desktop = try await signIn(engine, owner: owner)
                try expect(!(try await engine.load(cookieHeader: phone).isLoaded), "the least recently used session survived a login past the limit")
                for (name, device) in [("laptop", laptop), ("tablet", tablet), ("desktop", desktop)] {
                    try expect(
                        try await engine.load(cookieHeader: device).isLoaded,
                        "the \(name) was signed out, not the least recently used session"
                    )
                }
                let listed = try await engine.sessions(of: owner)
                try expect(listed.count == 3, "the owner keeps \(listed.count) sessions after a login past the limit of 3")
            },
        ]
    }

    static func ownerIndex(_ store: any SessionStore, file: String = #fileID, line: Int = #line) throws -> any SessionOwnerIndex {
        guard let index = store as? any SessionOwnerIndex else {
            throw fail("the store '\(store.name)' does not implement SessionOwnerIndex", file: file, line: line)
        }
        return index
    }

    static func newOwner() -> String {
        "owner-\(UUID().uuidString)"
    }

    /// Signs a new device in as `owner` and returns its Cookie header.
    static func signIn(_ engine: SessionEngine, owner: String) async throws -> String {
        let anonymous = try await engine.load(cookieHeader: nil)
        anonymous.put("visited", true)
        let first = try cookie(engine, try await engine.commit(anonymous))
        let login = try await engine.load(cookieHeader: first)
        login.regenerate(owner: owner)
        login.put("user", .string(owner))
        return try cookie(engine, try await engine.commit(login))
    }
}
