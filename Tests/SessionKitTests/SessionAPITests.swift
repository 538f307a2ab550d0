import Foundation
import SessionKit
import SessionKitConformance
import Testing

/// The request-scoped session API, method by method, on sessions that are not
/// attached to a store unless the test needs one.
@Suite struct SessionAPITests {
    private struct Address: Codable, Equatable {
        var street: String
        var number: Int
        var note: String?
    }

    // MARK: Reading

    @Test func getReturnsTheValueOrNilWhenAbsent() {
        let session = RequestSession()
        session.put("user", "alice")

        #expect(session.get("user") == "alice")
        #expect(session.get("missing") == nil)
    }

    @Test func getWithDefaultReturnsTheDefaultOnlyWhenAbsent() {
        let session = RequestSession()
        session.put("theme", "dark")
        session.put("nothing", nil)

        #expect(session.get("theme", default: "light") == "dark")
        #expect(session.get("missing", default: "light") == "light")
        #expect(session.get("nothing", default: "light") == .null)
    }

    @Test func getAsDecodesTheStoredShape() throws {
        let session = RequestSession()
        let address = Address(street: "Rue de l’Été", number: 12, note: nil)
        try session.put("address", encoding: address)

        #expect(try session.get("address", as: Address.self) == address)
        #expect(try session.get("missing", as: Address.self) == nil)
    }

    @Test func getAsReturnsNilForNull() throws {
        let session = RequestSession()
        session.put("address", nil)

        #expect(try session.get("address", as: Address.self) == nil)
    }

    @Test func getAsThrowsForAnotherShape() {
        let session = RequestSession()
        session.put("address", "not an address")

        #expect(throws: DecodingError.self) { try session.get("address", as: Address.self) }
    }

    @Test func putEncodingKeepsIntegersAndDoublesApart() throws {
        struct Numbers: Codable { var count: Int; var ratio: Double }
        let session = RequestSession()
        try session.put("numbers", encoding: Numbers(count: 3, ratio: 0.5))

        #expect(session.get("numbers") == ["count": .int(3), "ratio": .double(0.5)])
    }

    @Test func hasExistsAndMissingTellNullFromAbsent() {
        let session = RequestSession()
        session.put("present", 1)
        session.put("null", nil)

        #expect(session.has("present") && session.exists("present") && !session.missing("present"))
        #expect(!session.has("null") && session.exists("null") && !session.missing("null"))
        #expect(!session.has("absent") && !session.exists("absent") && session.missing("absent"))
    }

    @Test func allOnlyAndExceptSelectKeys() {
        let session = RequestSession()
        session.put(["a": 1, "b": 2, "c": 3])

        #expect(session.all() == ["a": 1, "b": 2, "c": 3])
        #expect(session.only(["a", "c", "absent"]) == ["a": 1, "c": 3])
        #expect(session.except(["a", "absent"]) == ["b": 2, "c": 3])
    }

    // MARK: Writing

    @Test func putOverwritesAndRecordsASet() {
        let session = RequestSession()
        session.put("user", "alice")
        session.put("user", "bob")

        #expect(session.get("user") == "bob")
        #expect(session.operations == [.set("user", "alice"), .set("user", "bob")])
    }

    @Test func putDictionaryRecordsOneSetPerKeyInKeyOrder() {
        let session = RequestSession()
        session.put(["b": 2, "a": 1])

        #expect(session.all() == ["a": 1, "b": 2])
        #expect(session.operations == [.set("a", 1), .set("b", 2)])
    }

    @Test func putEmptyDictionaryChangesNothing() {
        let session = RequestSession()
        session.put([:])

        #expect(session.all().isEmpty)
        #expect(session.operations.isEmpty)
        #expect(!session.isModified)
    }

    @Test func pushStartsAnArrayForAMissingKey() {
        let session = RequestSession()
        session.push("items", "first")

        #expect(session.get("items") == ["first"])
        #expect(session.operations == [.push("items", "first")])
    }

    @Test func pushStartsAnArrayForNull() {
        let session = RequestSession()
        session.put("items", nil)
        session.push("items", 1)

        #expect(session.get("items") == [1])
    }

    @Test func pushAppendsToAnExistingArray() {
        let session = RequestSession()
        session.put("items", [1, 2])
        session.push("items", [3])

        #expect(session.get("items") == [1, 2, [3]])
    }

    @Test func pushMakesAScalarTheArraysFirstElement() {
        let session = RequestSession()
        session.put("items", "scalar")
        session.push("items", "next")

        #expect(session.get("items") == ["scalar", "next"])
    }

    @Test func incrementOfAMissingKeyStartsAtZero() {
        let session = RequestSession()

        #expect(session.increment("visits") == 1)
        #expect(session.increment("visits", by: 5) == 6)
        #expect(session.get("visits") == .int(6))
        #expect(session.operations == [.increment("visits", by: 1), .increment("visits", by: 5)])
    }

    @Test func incrementOfANonIntegerCountsItAsZero() {
        let session = RequestSession()
        session.put("visits", "many")

        #expect(session.increment("visits", by: 2) == 2)
    }

    @Test func decrementSubtracts() {
        let session = RequestSession()
        session.put("stock", 10)

        #expect(session.decrement("stock") == 9)
        #expect(session.decrement("stock", by: 4) == 5)
        #expect(session.decrement("missing") == -1)
    }

    @Test(arguments: [
        (start: Int64.max, amount: Int64(1), expected: Int64.max),
        (start: Int64.max - 1, amount: Int64.max, expected: Int64.max),
        (start: Int64.min, amount: Int64(-1), expected: Int64.min),
        (start: Int64(-1), amount: Int64.min, expected: Int64.min),
        (start: Int64(0), amount: Int64.min, expected: Int64.min),
    ])
    func incrementSaturates(start: Int64, amount: Int64, expected: Int64) {
        let session = RequestSession()
        session.put("n", .int(start))

        #expect(session.increment("n", by: amount) == expected)
        #expect(session.get("n") == .int(expected))
    }

    @Test(arguments: [
        (start: Int64.min, amount: Int64(1), expected: Int64.min),
        (start: Int64(0), amount: Int64.min, expected: Int64.max),
        (start: Int64(-1), amount: Int64.min, expected: Int64.max),
        (start: Int64(-2), amount: Int64.min, expected: Int64.max - 1),
        (start: Int64.min, amount: Int64.min, expected: Int64(0)),
    ])
    func decrementSaturatesAndHandlesTheSmallestAmount(start: Int64, amount: Int64, expected: Int64) {
        let session = RequestSession()
        session.put("n", .int(start))

        #expect(session.decrement("n", by: amount) == expected)
        #expect(session.get("n") == .int(expected))
    }

    @Test func forgetRemovesOneKey() {
        let session = RequestSession()
        session.put(["a": 1, "b": 2])
        session.forget("a")

        #expect(session.all() == ["b": 2])
        #expect(session.operations.last == .remove("a"))
    }

    @Test func forgetKeysRemovesEachKey() {
        let session = RequestSession()
        session.put(["a": 1, "b": 2, "c": 3])
        session.forget(["a", "c", "absent"])

        #expect(session.all() == ["b": 2])
        #expect(session.operations.suffix(3) == [.remove("a"), .remove("c"), .remove("absent")])
    }

    @Test func pullReturnsAndRemovesTheValue() {
        let session = RequestSession()
        session.put("message", "hello")

        #expect(session.pull("message") == "hello")
        #expect(session.missing("message"))
        #expect(session.pull("message") == nil)
        #expect(session.pull("message", default: "fallback") == "fallback")
    }

    @Test func flushRemovesEveryValueAndFlash() {
        let session = RequestSession()
        session.put("a", 1)
        session.flash("notice", "saved")
        session.flush()

        #expect(session.all().isEmpty)
        #expect(session.getFlash("notice") == nil)
        #expect(session.operations.last == .flush)
    }

    // MARK: Flash

    @Test func flashIsReadableInTheSameRequest() {
        let session = RequestSession()
        session.flash("notice", "saved")

        #expect(session.getFlash("notice") == "saved")
        #expect(session.get("notice") == "saved")
        #expect(session.operations == [.flash("notice", "saved")])
    }

    @Test func nowIsReadableInTheSameRequest() {
        let session = RequestSession()
        session.now("notice", "shown once")

        #expect(session.getFlash("notice") == "shown once")
        #expect(session.operations == [.now("notice", "shown once")])
    }

    @Test func getFlashIgnoresValuesThatWereNotFlashed() {
        let session = RequestSession()
        session.put("user", "alice")

        #expect(session.getFlash("user") == nil)
        #expect(session.getFlash("user", default: "none") == "none")
        #expect(session.getFlash("absent", default: "none") == "none")
    }

    @Test func reflashAndKeepAreRecorded() {
        let session = RequestSession()
        session.reflash()
        session.keep(["notice"])

        #expect(session.operations == [.reflash, .keep(["notice"])])
    }

    // MARK: Lifecycle

    @Test func aNewSessionIsNeitherStartedNorModified() {
        let session = RequestSession()
        _ = session.get("user")
        _ = session.all()

        #expect(!session.isStarted)
        #expect(!session.isModified)
        #expect(!session.isLoaded)
        #expect(session.operations.isEmpty)
    }

    @Test func writingStartsAndModifiesTheSession() {
        let session = RequestSession()
        session.put("user", "alice")

        #expect(session.isStarted)
        #expect(session.isModified)
    }

    @Test func startStartsTheSessionWithoutModifyingIt() {
        let session = RequestSession()
        session.start()

        #expect(session.isStarted)
        #expect(!session.isModified)
    }

    @Test func aLoadedSessionIsStartedButNotModified() async throws {
        let clock = ManualClock()
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), clock: clock)
        let first = try await engine.load(cookieHeader: nil)
        first.put("user", "alice")
        let token = try #require(try await engine.commit(first).token)

        let session = try await engine.load(token: token)

        #expect(session.isLoaded)
        #expect(session.isStarted)
        #expect(!session.isModified)
        #expect(session.get("user") == "alice")
    }

    @Test func regenerateAndInvalidateModifyTheSession() {
        let regenerated = RequestSession()
        regenerated.regenerate()
        let invalidated = RequestSession()
        invalidated.invalidate()

        #expect(regenerated.isModified)
        #expect(invalidated.isModified)
        #expect(invalidated.isStarted)
    }

    @Test func invalidateDropsValuesAndOperations() {
        let session = RequestSession()
        session.put("user", "alice")
        session.invalidate()

        #expect(session.all().isEmpty)
        #expect(session.operations.isEmpty)

        session.put("theme", "dark")
        #expect(session.all() == ["theme": "dark"])
        #expect(session.operations == [.set("theme", "dark")])
    }

    @Test func everyWriteIsRecordedInOrder() {
        let session = RequestSession()
        session.put("a", 1)
        session.push("list", "x")
        session.increment("n", by: 2)
        session.forget("a")
        session.flash("f", true)
        session.now("g", nil)
        session.reflash()
        session.keep(["f"])
        _ = session.pull("list")
        session.flush()

        #expect(
            session.operations == [
                .set("a", 1), .push("list", "x"), .increment("n", by: 2), .remove("a"), .flash("f", true), .now("g", nil),
                .reflash, .keep(["f"]), .remove("list"), .flush,
            ]
        )
    }
}
