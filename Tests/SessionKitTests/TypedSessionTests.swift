import Foundation
import SessionKit
import SessionKitConformance
import Testing

/// The app's session, version 3. Version 1 kept `name` and `items`; version 2
/// renamed them `displayName` and `cart`; version 3 added `theme`.
private struct AppSession: SessionSchema, Equatable {
    static let sessionKey = "app"
    static let version = 3
    static let migrations = [
        SessionMigration(from: 1) { members in
            members["displayName"] = members.removeValue(forKey: "name")
            members["cart"] = members.removeValue(forKey: "items")
        },
        SessionMigration(from: 2) { members in
            members["theme"] = "light"
        },
    ]

    var displayName = ""
    var cart: [Int] = []
    var theme = "light"
}

/// The same stored value, with the other recovery policy.
private struct ResettingAppSession: SessionSchema, Equatable {
    static let sessionKey = "app"
    static let version = 3
    static let recovery = SessionSchemaRecovery.resetValue

    var displayName = ""
    var cart: [Int] = []
    var theme = "light"
}

/// A schema that lost the step from version 1.
private struct GappedAppSession: SessionSchema {
    static let sessionKey = "app"
    static let version = 3
    static let migrations = [SessionMigration(from: 2) { $0["theme"] = "light" }]

    var displayName = ""
    var cart: [Int] = []
    var theme = "light"
}

/// A "schema" that encodes as a bare string.
private struct NotAnObject: SessionSchema {
    static let sessionKey = "flat"
    static let version = 1
    var text = "a"

    init() {}
    init(from decoder: any Decoder) throws { text = try decoder.singleValueContainer().decode(String.self) }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

@Suite struct TypedSessionTests {
    /// Stores a session record as an older app would have: the engine's record
    /// format (`{"c":…,"d":{…},"v":1}`) with `values` as the JSON of its `d` member.
    private func storeRecord(values: String, in harness: EngineHarness) async throws -> SessionToken {
        let now = harness.clock.now()
        let bytes = #"{"c":\#(Int(now.timeIntervalSince1970)),"d":\#(values),"v":1}"#
        let token = SessionToken.generate()
        let record = SessionRecord(key: token.key, data: Array(bytes.utf8), expiresAt: now + 30 * 60)
        let result = try await harness.store.save(record, expecting: nil)
        #expect(result != .conflict, "the store refused the old record")
        return token
    }

    /// What version 1 of the app stored for Ann, beside an untyped key.
    private let version1Values = #"{"app":{"$version":1,"items":[1,2],"name":"Ann"},"user":"ann"}"#

    private static let annVersion3: SessionValue = ["$version": 3, "cart": [1, 2], "displayName": "Ann", "theme": "light"]

    // MARK: Upgrades

    @Test func aValueWrittenByVersion1IsUpgradedThroughEveryStep() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: version1Values, in: harness)

        let session = try await harness.load(token)
        let value = session.typed(AppSession.self)

        #expect(value == AppSession(displayName: "Ann", cart: [1, 2], theme: "light"))
    }

    @Test func theUpgradeIsWrittenBackEvenWhenTheRequestChangesNothing() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: version1Values, in: harness)

        let result = try await harness.request(token) { _ = $0.typed(AppSession.self) }

        #expect(result.action == .saved)
        let stored = try #require(try await harness.store.load(token.key))
        let text = String(decoding: stored.record.data, as: UTF8.self)
        #expect(text.contains(#""$version":3"#), "stored: \(text)")
        let next = try await harness.load(token)
        #expect(next.get("app") == Self.annVersion3)
        #expect(next.get("user") == "ann", "the rest of the session is untouched")
    }

    @Test func anUpgradedValueIsNotUpgradedAgain() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: version1Values, in: harness)
        try await harness.request(token) { _ = $0.typed(AppSession.self) }

        let session = try await harness.load(token)
        #expect(session.typed(AppSession.self).displayName == "Ann")
        #expect(!session.isModified)
        #expect(try await harness.engine.commit(session).action == .none)
    }

    @Test func aChangeToAnOlderValueIsWrittenInTheNewShape() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: #"{"app":{"$version":2,"cart":[7],"displayName":"Bo"}}"#, in: harness)

        try await harness.request(token) { session in
            try session.updateTyped(AppSession.self) { $0.theme = "dark" }
        }

        let next = try await harness.load(token)
        #expect(next.get("app") == ["$version": 3, "cart": [7], "displayName": "Bo", "theme": "dark"])
    }

    // MARK: Writes

    @Test func aSessionWithoutTheValueReadsTheDefaultAndWritesNothing() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()

        let session = try await harness.load(token)
        #expect(session.typed(AppSession.self) == AppSession())
        try session.setTyped(AppSession())

        #expect(!session.isModified)
        #expect(try await harness.engine.commit(session).action == .none)
    }

    @Test func theFirstTypedWriteStoresTheWholeValueWithItsVersion() async throws {
        let harness = try EngineHarness()

        let result = try await harness.request(nil) { session in
            try session.updateTyped(AppSession.self) { $0.cart = [4] }
        }

        let token = try #require(result.token)
        let next = try await harness.load(token)
        #expect(next.get("app") == ["$version": 3, "cart": [4], "displayName": "", "theme": "light"])
        #expect(next.typed(AppSession.self).cart == [4])
    }

    @Test func aTypedWriteRecordsOneOperationPerChangedMember() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: #"{"app":\#(Self.annVersion3.jsonText)}"#, in: harness)
        let session = try await harness.load(token)

        try session.updateTyped(AppSession.self) { value in
            value.cart.append(3)
            value.displayName = "Ann"  // unchanged: not written
        }

        #expect(session.operations == [.setMember("app", member: "cart", [1, 2, 3])])
    }

    @Test func setTypedWritesTheDifferenceFromTheCurrentValue() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: #"{"app":\#(Self.annVersion3.jsonText)}"#, in: harness)
        let session = try await harness.load(token)
        var value = session.typed(AppSession.self)
        value.theme = "dark"

        try session.setTyped(value)

        #expect(session.operations == [.setMember("app", member: "theme", "dark")])
        #expect(session.typed(AppSession.self).theme == "dark")
    }

    @Test func updateTypedReturnsTheBodysResult() throws {
        let session = RequestSession()
        let count = try session.updateTyped(AppSession.self) { value -> Int in
            value.cart = [1, 2, 3]
            return value.cart.count
        }
        #expect(count == 3)
    }

    @Test func aValueThatIsNotAnObjectCannotBeWritten() {
        let session = RequestSession()
        var value = NotAnObject()
        value.text = "b"

        #expect {
            try session.setTyped(value)
        } throws: { error in
            (error as? SessionSchemaError)?.code == .notAnObject
        }
        #expect(!session.isModified)
    }

    // MARK: Unreadable values

    struct UnreadableCase: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var values: String
    }

    static let unreadable: [UnreadableCase] = [
        .init(testDescription: "not an object", values: #"{"app":"garbage","user":"ann"}"#),
        .init(testDescription: "no version", values: #"{"app":{"cart":[1]},"user":"ann"}"#),
        .init(testDescription: "a newer version", values: #"{"app":{"$version":9,"cart":[1]},"user":"ann"}"#),
        .init(testDescription: "does not decode after migrating", values: #"{"app":{"$version":1,"items":"x","name":5},"user":"ann"}"#),
    ]

    /// An app cannot know what else is right in a session it cannot read: by
    /// default it starts over, and the request still succeeds.
    @Test(arguments: unreadable)
    func anUnreadableValueStartsAFreshSession(_ check: UnreadableCase) async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: check.values, in: harness)

        let session = try await harness.load(token)
        #expect(session.typed(AppSession.self) == AppSession())
        #expect(session.get("user") == nil)
        let result = try await harness.engine.commit(session)

        #expect(result.action == .invalidated)
        #expect(try await harness.store.load(token.key) == nil)
    }

    @Test func aMissingMigrationStepStartsAFreshSession() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: version1Values, in: harness)

        let result = try await harness.request(token) { #expect($0.typed(GappedAppSession.self).cart == []) }

        #expect(result.action == .invalidated)
    }

    @Test func theResetValuePolicyDropsOnlyTheValue() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: #"{"app":"garbage","user":"ann"}"#, in: harness)

        let result = try await harness.request(token) { #expect($0.typed(ResettingAppSession.self) == ResettingAppSession()) }

        #expect(result.action == .saved)
        let next = try await harness.load(token)
        #expect(next.get("app") == nil)
        #expect(next.get("user") == "ann")
    }

    // MARK: Concurrency

    /// Two app servers (two engines over one store) change different members
    /// of one session at once: the second commit conflicts, reloads and
    /// replays its member operations, so both changes land.
    @Test func typedWritesToDifferentMembersFromTwoServersBothLand() async throws {
        let harness = try EngineHarness()
        let other = try SessionEngine(store: harness.store, clock: harness.clock)
        let token = try await storeRecord(values: #"{"app":\#(Self.annVersion3.jsonText)}"#, in: harness)
        let first = try await harness.load(token)
        let second = try await other.load(cookieHeader: harness.header(token))

        try first.updateTyped(AppSession.self) { $0.cart.append(3) }
        try second.updateTyped(AppSession.self) { $0.theme = "dark" }
        #expect(try await harness.engine.commit(first).action == .saved)
        #expect(try await other.commit(second).action == .saved)

        let final = try await harness.load(token).typed(AppSession.self)
        #expect(final == AppSession(displayName: "Ann", cart: [1, 2, 3], theme: "dark"))
    }

    /// Many requests of one process, each changing its own member (and one
    /// untyped key), committed at once: every change lands.
    @Test func concurrentTypedWritesToDifferentMembersAllLand() async throws {
        let harness = try EngineHarness()
        let token = try await storeRecord(values: #"{"app":\#(Self.annVersion3.jsonText)}"#, in: harness)
        let engine = harness.engine
        var sessions: [RequestSession] = []
        for _ in 0..<4 { sessions.append(try await harness.load(token)) }

        try sessions[0].updateTyped(AppSession.self) { $0.displayName = "Ann B." }
        try sessions[1].updateTyped(AppSession.self) { $0.cart = [9] }
        try sessions[2].updateTyped(AppSession.self) { $0.theme = "dark" }
        sessions[3]["visits"] = 1
        try await withThrowingTaskGroup(of: Void.self) { group in
            for session in sessions { group.addTask { _ = try await engine.commit(session) } }
            try await group.waitForAll()
        }

        let next = try await harness.load(token)
        #expect(next.typed(AppSession.self) == AppSession(displayName: "Ann B.", cart: [9], theme: "dark"))
        #expect(next["visits"] == 1)
    }

    /// Two servers read a version 1 value at once; each upgrades it and changes
    /// a different member. The second's upgrade is a compare-and-set that no
    /// longer matches on replay, so it does not undo the first's change.
    @Test func concurrentUpgradesDoNotUndoEachOthersChanges() async throws {
        let harness = try EngineHarness()
        let other = try SessionEngine(store: harness.store, clock: harness.clock)
        let token = try await storeRecord(values: version1Values, in: harness)
        let first = try await harness.load(token)
        let second = try await other.load(cookieHeader: harness.header(token))

        try first.updateTyped(AppSession.self) { $0.cart.append(3) }
        try second.updateTyped(AppSession.self) { $0.theme = "dark" }
        _ = try await harness.engine.commit(first)
        _ = try await other.commit(second)

        let next = try await harness.load(token)
        #expect(next.get("app") == ["$version": 3, "cart": [1, 2, 3], "displayName": "Ann", "theme": "dark"])
    }

    /// Two servers each write the first typed value of a session at once:
    /// creating the value is a compare-and-set, so the second only adds its member.
    @Test func twoFirstWritesOfTheValueMergeByMember() async throws {
        let harness = try EngineHarness()
        let other = try SessionEngine(store: harness.store, clock: harness.clock)
        let token = try await harness.createSession()
        let first = try await harness.load(token)
        let second = try await other.load(cookieHeader: harness.header(token))

        try first.updateTyped(AppSession.self) { $0.cart = [5] }
        try second.updateTyped(AppSession.self) { $0.displayName = "Cy" }
        _ = try await harness.engine.commit(first)
        _ = try await other.commit(second)

        let final = try await harness.load(token).typed(AppSession.self)
        #expect(final == AppSession(displayName: "Cy", cart: [5], theme: "light"))
    }

    /// A request that changes a member after another request removed the whole
    /// value (a logout's `flush`, a `forget`) does not bring back a partial value.
    @Test func memberWritesDoNotResurrectARemovedValue() async throws {
        let harness = try EngineHarness()
        let other = try SessionEngine(store: harness.store, clock: harness.clock)
        let token = try await storeRecord(values: #"{"app":\#(Self.annVersion3.jsonText),"user":"ann"}"#, in: harness)
        let first = try await harness.load(token)
        let second = try await other.load(cookieHeader: harness.header(token))

        first.forget("app")
        try second.updateTyped(AppSession.self) { $0.theme = "dark" }
        _ = try await harness.engine.commit(first)
        _ = try await other.commit(second)

        let next = try await harness.load(token)
        #expect(next.get("app") == nil)
        #expect(next.get("user") == "ann")
    }
}
