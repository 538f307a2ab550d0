import Foundation
import SessionKit
import SessionKitConformance
import Testing

/// An engine over a ``MemoryStore``, both on one ``ManualClock``, and helpers
/// that play the browser's part: send the token back as a `Cookie` header.
struct EngineHarness {
    let clock = ManualClock()
    let store: MemoryStore
    let engine: SessionEngine

    init(_ configure: (inout SessionEngine.Configuration) -> Void = { _ in }) throws {
        store = try MemoryStore(clock: clock)
        var configuration = SessionEngine.Configuration()
        configure(&configuration)
        engine = try SessionEngine(store: store, configuration: configuration, clock: clock)
    }

    /// The session cookie's name, `__Host-sessionkit` by default.
    var cookieName: String { engine.configuration.cookie.effectiveName }

    /// The `Cookie` header that carries `token`.
    func header(_ token: SessionToken) -> String {
        "\(cookieName)=\(token.cookieValue)"
    }

    /// Loads the session of `token` (or a new one).
    func load(_ token: SessionToken?) async throws -> RequestSession {
        try await engine.load(cookieHeader: token.map(header))
    }

    /// One request: load the session of `token`, run `handler` on it, commit.
    @discardableResult
    func request(_ token: SessionToken?, _ handler: (RequestSession) throws -> Void = { _ in }) async throws -> SessionCommitResult {
        let session = try await load(token)
        try handler(session)
        return try await engine.commit(session)
    }

    /// Creates a session holding `values` and returns its token.
    func createSession(_ values: [String: SessionValue] = ["user": "alice"]) async throws -> SessionToken {
        let result = try await request(nil) { $0.put(values) }
        #expect(result.action == .created)
        return try #require(result.token)
    }

    /// The `Set-Cookie` line for the cookie called `name`, if the result has one.
    static func setCookie(_ name: String, in result: SessionCommitResult) -> String? {
        result.setCookies.first { $0.hasPrefix("\(name)=") }
    }
}

@Suite struct SessionEngineTests {
    // MARK: Flash

    @Test func flashIsReadableInTheNextRequestAndGoneInTheOneAfter() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        try await harness.request(token) { $0.flash("notice", "saved") }

        let next = try await harness.load(token)
        #expect(next.getFlash("notice") == "saved")
        _ = try await harness.engine.commit(next)

        let after = try await harness.load(token)
        #expect(after.getFlash("notice") == nil)
        #expect(after.get("notice") == nil)
        #expect(after.get("user") == "alice")
    }

    /// A request ages only the flash data it loaded: a message flashed by a
    /// concurrent request after this one loaded the session is left for the next
    /// request, even when this one's commit is replayed on the fresher record.
    @Test func aFlashSetAfterARequestLoadedSurvivesThatRequestsReplay() async throws {
        let harness = try EngineHarness { $0.csrf.mode = .originOnly }
        let token = try await harness.createSession()
        let earlier = try await harness.load(token)
        try await harness.request(token) { $0.flash("notice", "saved") }

        earlier.put("theme", "dark")
        let result = try await harness.engine.commit(earlier)

        #expect(result.action == .saved)
        let next = try await harness.load(token)
        #expect(next.getFlash("notice") == "saved")
        #expect(next.get("theme") == "dark")
        _ = try await harness.engine.commit(next)
        #expect(try await harness.load(token).getFlash("notice") == nil)
    }

    @Test func reflashKeepsEveryFlashedValueForOneMoreRequest() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        try await harness.request(token) {
            $0.flash("notice", "saved")
            $0.flash("hint", "try again")
        }
        try await harness.request(token) { $0.reflash() }

        let kept = try await harness.load(token)
        #expect(kept.getFlash("notice") == "saved")
        #expect(kept.getFlash("hint") == "try again")
        _ = try await harness.engine.commit(kept)

        let gone = try await harness.load(token)
        #expect(gone.getFlash("notice") == nil)
        #expect(gone.getFlash("hint") == nil)
    }

    @Test func keepKeepsOnlyTheNamedFlashedValues() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        try await harness.request(token) {
            $0.flash("notice", "saved")
            $0.flash("hint", "try again")
        }
        try await harness.request(token) { $0.keep(["notice"]) }

        let kept = try await harness.load(token)
        #expect(kept.getFlash("notice") == "saved")
        #expect(kept.getFlash("hint") == nil)
        _ = try await harness.engine.commit(kept)

        let gone = try await harness.load(token)
        #expect(gone.getFlash("notice") == nil)
    }

    @Test func nowIsVisibleOnlyInTheSameRequest() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        let session = try await harness.load(token)
        session.now("notice", "shown once")
        #expect(session.getFlash("notice") == "shown once")
        _ = try await harness.engine.commit(session)

        let next = try await harness.load(token)
        #expect(next.getFlash("notice") == nil)
        #expect(next.get("notice") == nil)
    }

    @Test func nowAloneStartsNoSession() async throws {
        let harness = try EngineHarness()
        let result = try await harness.request(nil) { $0.now("notice", "shown once") }

        #expect(result.action == .none)
        #expect(result.setCookies.isEmpty)
        #expect(harness.store.count == 0)
    }

    // MARK: Lazy start and deletion

    @Test func aRequestThatOnlyReadsStartsNoSession() async throws {
        let harness = try EngineHarness()
        let result = try await harness.request(nil) { session in
            _ = session.get("user")
            _ = session.has("cart")
            _ = session.all()
        }

        #expect(result.action == .none)
        #expect(result.token == nil)
        #expect(result.setCookies.isEmpty)
        #expect(result.headers.isEmpty)
        #expect(harness.store.count == 0)
    }

    @Test func startCreatesAnEmptySessionWithACookie() async throws {
        let harness = try EngineHarness()
        let result = try await harness.request(nil) { $0.start() }

        #expect(result.action == .created)
        let token = try #require(result.token)
        #expect(EngineHarness.setCookie(harness.cookieName, in: result)?.hasPrefix("\(harness.cookieName)=\(token.cookieValue);") == true)
        #expect(harness.store.count == 1)
    }

    @Test func anEmptiedSessionIsDeletedAndBothCookiesExpire() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()

        let result = try await harness.request(token) { $0.flush() }

        #expect(result.action == .deleted)
        #expect(result.token == nil)
        #expect(harness.store.count == 0)
        let sessionCookie = try #require(EngineHarness.setCookie(harness.cookieName, in: result))
        let xsrfCookie = try #require(EngineHarness.setCookie("XSRF-TOKEN", in: result))
        #expect(sessionCookie.hasPrefix("\(harness.cookieName)=;"))
        #expect(sessionCookie.contains("; Max-Age=0;"))
        #expect(xsrfCookie.hasPrefix("XSRF-TOKEN=;"))
        #expect(xsrfCookie.contains("; Max-Age=0;"))
        #expect(!(try await harness.load(token).isLoaded))
    }

    @Test func emptyingASessionDoesNotDeleteAConcurrentWrite() async throws {
        let harness = try EngineHarness { $0.csrf.mode = .originOnly }
        let token = try await harness.createSession(["a": 1])
        let emptying = try await harness.load(token)
        try await harness.request(token) { $0.put("b", 2) }

        emptying.forget("a")
        let result = try await harness.engine.commit(emptying)

        // The forget is replayed on the fresher record, which still holds "b".
        #expect(result.action == .saved)
        #expect(try await harness.load(token).all() == ["b": 2])
    }

    @Test func flushingASessionWinsOverAConcurrentWrite() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession(["a": 1])
        let flushing = try await harness.load(token)
        try await harness.request(token) { $0.put("b", 2) }

        flushing.flush()
        let result = try await harness.engine.commit(flushing)

        #expect(result.action == .deleted)
        #expect(!(try await harness.load(token).isLoaded))
        #expect(harness.store.count == 0)
    }

    // MARK: Expiry

    @Test func anUnchangedRequestWithinTheTouchIntervalWritesNothing() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        let before = try #require(try await harness.store.load(token.key))
        harness.clock.advance(by: .seconds(59))

        let result = try await harness.request(token) { _ = $0.get("user") }

        #expect(result.action == .none)
        #expect(result.setCookies.isEmpty)
        #expect(try await harness.store.load(token.key) == before)
    }

    @Test func anUnchangedRequestAfterTheTouchIntervalExtendsTheExpiry() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        let before = try #require(try await harness.store.load(token.key))
        harness.clock.advance(by: .seconds(61))

        let result = try await harness.request(token)

        #expect(result.action == .touched)
        let newExpiry = harness.clock.now() + 30 * 60
        #expect(result.expiresAt == newExpiry)
        let cookie = try #require(EngineHarness.setCookie(harness.cookieName, in: result))
        #expect(cookie.hasPrefix("\(harness.cookieName)=\(token.cookieValue);"))
        #expect(cookie.contains("; Max-Age=1800;"))
        let after = try #require(try await harness.store.load(token.key))
        #expect(after.record.expiresAt == newExpiry)
        #expect(after.version == before.version)
        #expect(after.record.data == before.record.data)
    }

    @Test func idleTimeoutEndsTheSession() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        harness.clock.advance(by: .seconds(29 * 60))
        #expect(try await harness.load(token).isLoaded)

        harness.clock.advance(by: .seconds(31 * 60))

        let session = try await harness.load(token)
        #expect(!session.isLoaded)
        #expect(session.get("user") == nil)
    }

    /// Keeps the session of `token` active with an unchanged request every 20 minutes
    /// for as long as the next request falls before `deadline`, expecting a touch each time.
    private func keepActive(_ token: SessionToken, before deadline: Date, in harness: EngineHarness) async throws {
        while harness.clock.now() + 20 * 60 < deadline {
            harness.clock.advance(by: .seconds(20 * 60))
            let session = try await harness.load(token)
            try #require(session.isLoaded, "the session ended early, at \(harness.clock.now())")
            let result = try await harness.engine.commit(session)
            try #require(result.action == .touched)
        }
    }

    @Test func absoluteTimeoutEndsASessionThatIsKeptActive() async throws {
        let harness = try EngineHarness()
        let createdAt = harness.clock.now()
        let absoluteLimit = createdAt + 7 * 24 * 60 * 60
        let token = try await harness.createSession()

        try await keepActive(token, before: absoluteLimit, in: harness)

        // The last touch could only extend the expiry up to the absolute limit.
        let stored = try #require(try await harness.store.load(token.key))
        #expect(stored.record.expiresAt == absoluteLimit)
        harness.clock.advance(by: .seconds(20 * 60))
        #expect(harness.clock.now() == absoluteLimit)
        #expect(!(try await harness.load(token).isLoaded))
    }

    @Test func regenerateDoesNotExtendTheAbsoluteTimeout() async throws {
        let harness = try EngineHarness()
        let absoluteLimit = harness.clock.now() + 7 * 24 * 60 * 60
        let token = try await harness.createSession()
        try await keepActive(token, before: absoluteLimit - 10 * 60, in: harness)

        let result = try await harness.request(token) { $0.regenerate() }

        #expect(result.action == .regenerated)
        #expect(result.expiresAt == absoluteLimit)
        let regenerated = try #require(result.token)
        harness.clock.advance(by: .seconds(absoluteLimit.timeIntervalSince(harness.clock.now())))
        #expect(!(try await harness.load(regenerated).isLoaded))
    }

    // MARK: Regenerate, invalidate and the attacks they stop

    @Test func regenerateMovesTheDataToANewTokenAndKillsTheOldOne() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()

        let result = try await harness.request(token) { $0.regenerate() }

        #expect(result.action == .regenerated)
        let newToken = try #require(result.token)
        #expect(newToken != token)
        #expect(EngineHarness.setCookie(harness.cookieName, in: result)?.hasPrefix("\(harness.cookieName)=\(newToken.cookieValue);") == true)
        #expect(!(try await harness.load(token).isLoaded))
        #expect(try await harness.store.load(token.key) == nil)
        #expect(try await harness.load(newToken).get("user") == "alice")
        #expect(harness.store.count == 1)
    }

    /// Session fixation: an attacker who makes up a session id and plants it in the
    /// victim's browser must not find the victim logged in under that id.
    @Test func anAttackerChosenTokenNeverBecomesTheSession() async throws {
        let harness = try EngineHarness()
        let planted = SessionToken.generate()

        let login = try await harness.request(planted) { $0.put("user", "victim") }

        let issued = try #require(login.token)
        #expect(issued != planted)
        #expect(try await harness.store.load(planted.key) == nil)
        #expect(!(try await harness.load(planted).isLoaded))
        #expect(try await harness.load(issued).get("user") == "victim")
    }

    /// Session fixation: an attacker who plants the cookie of a real, anonymous
    /// session of their own must not share the victim's session after login,
    /// because login calls `regenerate()`.
    @Test func anAttackersOwnSessionIsUselessAfterTheVictimLogsIn() async throws {
        let harness = try EngineHarness()
        let attackers = try await harness.createSession(["cart": [1]])

        let login = try await harness.request(attackers) { session in
            session.regenerate()
            session.put("user", "victim")
        }

        let victims = try #require(login.token)
        #expect(victims != attackers)
        let attackerView = try await harness.load(attackers)
        #expect(!attackerView.isLoaded)
        #expect(attackerView.get("user") == nil)
        #expect(try await harness.load(victims).get("user") == "victim")
    }

    @Test func invalidateKillsTheOldCookieAndItsData() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        let oldSecret = try await harness.load(token).get("_csrf")

        let result = try await harness.request(token) { $0.invalidate() }

        #expect(result.action == .invalidated)
        #expect(!(try await harness.load(token).isLoaded))
        #expect(try await harness.store.load(token.key) == nil)
        // With CSRF tokens on, the fresh session holds a new CSRF secret and nothing else.
        let newToken = try #require(result.token)
        let fresh = try await harness.load(newToken)
        #expect(fresh.get("user") == nil)
        #expect(fresh.all().keys.sorted() == ["_csrf"])
        #expect(fresh.get("_csrf") != oldSecret)
    }

    @Test func invalidateWithoutWritesLeavesNoSession() async throws {
        let harness = try EngineHarness { $0.csrf.mode = .originOnly }
        let token = try await harness.createSession()

        let result = try await harness.request(token) { $0.invalidate() }

        #expect(result.action == .invalidated)
        #expect(result.token == nil)
        #expect(harness.store.count == 0)
        #expect(result.setCookies == [harness.engine.configuration.cookie.expiredSessionCookie()])
    }

    @Test func writesAfterInvalidateStartAFreshSession() async throws {
        let harness = try EngineHarness { $0.csrf.mode = .originOnly }
        let token = try await harness.createSession(["user": "alice", "cart": [1, 2]])

        let result = try await harness.request(token) { session in
            session.invalidate()
            session.put("theme", "dark")
        }

        #expect(result.action == .invalidated)
        let fresh = try #require(result.token)
        #expect(fresh != token)
        #expect(try await harness.load(fresh).all() == ["theme": "dark"])
        #expect(!(try await harness.load(token).isLoaded))
        #expect(harness.store.count == 1)
    }

    /// Session replay: a cookie copied before logout (from a shared computer, a
    /// proxy log, malware) must not reach the session after the user logs out.
    @Test func aCookieReplayedAfterLogoutIsNoSession() async throws {
        let harness = try EngineHarness()
        let stolen = try await harness.createSession(["user": "alice"])
        try await harness.request(stolen) { $0.invalidate() }

        let replay = try await harness.load(stolen)
        #expect(!replay.isLoaded)
        #expect(replay.get("user") == nil)
        // Writing through the replayed cookie starts an unrelated session under a new token.
        replay.put("user", "mallory")
        let result = try await harness.engine.commit(replay)
        #expect(result.token != stolen)
        #expect(try await harness.store.load(stolen.key) == nil)
    }

    // MARK: Bad cookies

    /// A session cookie that must load no session, built from a live session's token.
    struct BadCookie: Sendable, CustomTestStringConvertible {
        var name: String
        var header: @Sendable (_ cookieName: String, _ live: String) -> String

        var testDescription: String { name }

        static let all: [BadCookie] = [
            BadCookie(name: "empty value") { name, _ in "\(name)=" },
            BadCookie(name: "malformed") { name, _ in "\(name)=not a token" },
            BadCookie(name: "42 characters") { name, live in "\(name)=\(live.dropLast())" },
            BadCookie(name: "44 characters") { name, live in "\(name)=\(live)A" },
            BadCookie(name: "a + character") { name, live in "\(name)=+\(live.dropFirst())" },
            BadCookie(name: "a / character") { name, live in "\(name)=/\(live.dropFirst())" },
            BadCookie(name: "an = character") { name, live in "\(name)=\(live.dropLast())=" },
            BadCookie(name: "padding") { name, live in "\(name)=\(live)=" },
            BadCookie(name: "non-canonical trailing bits") { name, live in "\(name)=\(withTrailingBitSet(live))" },
            BadCookie(name: "oversized, 5,000 bytes") { name, _ in "\(name)=\(String(repeating: "A", count: 5_000))" },
            BadCookie(name: "live token padded to 5,000 bytes") { name, live in
                "\(name)=\(live)\(String(repeating: "A", count: 5_000 - live.count))"
            },
            BadCookie(name: "repeated session cookie") { name, live in "\(name)=\(live); \(name)=\(live)" },
            BadCookie(name: "repeated among other cookies") { name, live in "theme=dark; \(name)=\(live); \(name)=\(live)" },
            BadCookie(name: "a second, unknown session cookie") { name, live in
                "\(name)=\(SessionToken.generate().cookieValue); \(name)=\(live)"
            },
            BadCookie(name: "name in another case") { name, live in "\(name.lowercased())=\(live)" },
            BadCookie(name: "name without the __Host- prefix") { _, live in "sessionkit=\(live)" },
            BadCookie(name: "valid-looking unknown token") { name, _ in "\(name)=\(SessionToken.generate().cookieValue)" },
        ]

        /// The same 32 bytes spelled with a non-zero unused low bit in the last
        /// character: a lenient decoder would accept it as the live token.
        static func withTrailingBitSet(_ token: String) -> String {
            let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            let last = alphabet.firstIndex(of: token.last!)!
            return String(token.dropLast()) + String(alphabet[last | 1])
        }
    }

    @Test(arguments: BadCookie.all)
    func aBadSessionCookieIsNoSessionAndWritesNothing(_ bad: BadCookie) async throws {
        let harness = try EngineHarness()
        let live = try await harness.createSession()
        let before = try #require(try await harness.store.load(live.key))

        let session = try await harness.engine.load(cookieHeader: bad.header(harness.cookieName, live.cookieValue))

        #expect(!session.isLoaded)
        #expect(!session.isStarted)
        #expect(session.get("user") == nil)
        let result = try await harness.engine.commit(session)
        #expect(result.action == .none)
        #expect(result.setCookies.isEmpty)
        #expect(harness.store.count == 1)
        #expect(try await harness.store.load(live.key) == before)
    }

    @Test func theLiveTokenItselfLoadsTheSession() async throws {
        // The control for the table above: the unaltered token does load.
        let harness = try EngineHarness()
        let live = try await harness.createSession()

        #expect(try await harness.engine.load(cookieHeader: "theme=dark; \(harness.header(live))").get("user") == "alice")
        #expect(try await harness.engine.load(cookieHeader: "\(harness.cookieName)=\"\(live.cookieValue)\"").isLoaded)
    }

    // MARK: Store failures

    /// Stands in for an unreachable backend: every call throws.
    private struct FailingStore: SessionStore {
        struct Outage: Error, CustomStringConvertible {
            var description: String { "connection refused" }
        }

        var name: String { "failing" }
        func load(_ key: SessionKey) async throws -> StoredSession? { throw Outage() }
        func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult { throw Outage() }
        func touch(_ key: SessionKey, expiresAt: Date) async throws { throw Outage() }
        func delete(_ key: SessionKey) async throws { throw Outage() }
    }

    @Test func aStoreFailureOnLoadSurfacesNamingTheStore() async throws {
        let engine = try SessionEngine(store: FailingStore(), clock: ManualClock())
        let token = SessionToken.generate()

        let error = await #expect(throws: SessionStoreError.self) {
            try await engine.load(cookieHeader: "\(engine.configuration.cookie.effectiveName)=\(token.cookieValue)")
        }

        #expect(error?.storeName == "failing")
        #expect(error?.code == .unavailable)
        #expect(error?.cause is FailingStore.Outage)
        #expect(error?.description.contains("'failing'") == true)
        #expect(error?.description.contains(token.cookieValue) == false)
        #expect(error?.description.contains(token.key.hex) == false)
    }

    @Test func aStoreFailureOnCommitSurfacesNamingTheStore() async throws {
        let engine = try SessionEngine(store: FailingStore(), clock: ManualClock())
        // No cookie, so loading needs no store call.
        let session = try await engine.load(cookieHeader: nil)
        session.put("user", "alice")

        let error = await #expect(throws: SessionStoreError.self) { try await engine.commit(session) }

        #expect(error?.storeName == "failing")
        #expect(error?.code == .unavailable)
        #expect(error?.cause is FailingStore.Outage)
    }

    // MARK: Response headers

    enum Scenario: String, CaseIterable, Sendable {
        case readOnlyNewSession, created, unchanged, touched, savedWithinTouchInterval, savedAfterTouchInterval, deleted, regenerated
    }

    /// A response that read a stored session or sets its cookie depends on who asked:
    /// `Vary: Cookie` and `Cache-Control: private` (with `no-cache="Set-Cookie"` when it
    /// sets cookies); a request with no stored session and no cookie gets neither.
    @Test(arguments: Scenario.allCases)
    func responsesOfLoadedSessionsArePrivate(_ scenario: Scenario) async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        let result: SessionCommitResult
        switch scenario {
        case .readOnlyNewSession: result = try await harness.request(nil) { _ = $0.get("user") }
        case .created: result = try await harness.request(nil) { $0.put("user", "bob") }
        case .unchanged: result = try await harness.request(token)
        case .touched:
            harness.clock.advance(by: .seconds(61))
            result = try await harness.request(token)
        case .savedWithinTouchInterval: result = try await harness.request(token) { $0.put("theme", "dark") }
        case .savedAfterTouchInterval:
            harness.clock.advance(by: .seconds(61))
            result = try await harness.request(token) { $0.put("theme", "dark") }
        case .deleted: result = try await harness.request(token) { $0.flush() }
        case .regenerated: result = try await harness.request(token) { $0.regenerate() }
        }

        let expectsCookies = [.created, .touched, .savedAfterTouchInterval, .deleted, .regenerated].contains(scenario)
        let expectsPrivate = scenario != .readOnlyNewSession
        #expect(result.setCookies.isEmpty == !expectsCookies)
        #expect(result.isPrivate == expectsPrivate)
        let headers = result.headers
        #expect(headers.filter { $0.name == "Set-Cookie" }.map(\.value) == result.setCookies)
        #expect(headers.contains { $0.name == "Vary" && $0.value == "Cookie" } == expectsPrivate)
        let cacheControl = headers.filter { $0.name == "Cache-Control" }.map(\.value)
        switch (expectsPrivate, expectsCookies) {
        case (true, true): #expect(cacheControl == [#"private, no-cache="Set-Cookie""#])
        case (true, false): #expect(cacheControl == ["private"])
        default: #expect(cacheControl.isEmpty)
        }
    }

    /// A shared cache must not serve one user's `/me` to another: a read of a stored
    /// session that changes nothing (no store call, no cookie) is still marked private.
    @Test func readingASignedInSessionMarksTheResponsePrivate() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()

        let result = try await harness.request(token) { _ = $0.get("user") }

        #expect(result.action == .none)
        #expect(result.setCookies.isEmpty)
        #expect(result.headers.map(\.name) == ["Vary", "Cache-Control"])
        #expect(result.headers.map(\.value) == ["Cookie", "private"])
    }

    @Test func anAppsOwnCacheControlAndVaryAreLeftAlone() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()

        let result = try await harness.request(token) { _ = $0.get("user") }

        #expect(result.headers(vary: ["Accept-Encoding, cookie"], cacheControl: ["no-store"]).isEmpty)
        #expect(result.headers(vary: ["*"], cacheControl: []).map(\.value) == ["private"])
        #expect(result.headers(vary: ["Accept-Encoding"], cacheControl: ["max-age=0"]).map(\.value) == ["Cookie"])
    }

    @Test func markingResponsesPrivateCanBeTurnedOff() async throws {
        let harness = try EngineHarness { $0.marksResponsesPrivate = false }
        let token = try await harness.createSession()

        let read = try await harness.request(token) { _ = $0.get("user") }
        let rotated = try await harness.request(token) { $0.regenerate() }

        #expect(!read.isPrivate)
        #expect(read.headers.isEmpty)
        #expect(rotated.headers.filter { $0.name != "Set-Cookie" }.map(\.value) == ["Cookie", #"no-cache="Set-Cookie""#])
    }

    // MARK: Configuration

    struct InvalidConfiguration: Sendable, CustomTestStringConvertible {
        var name: String
        var setting: String
        var change: @Sendable (inout SessionEngine.Configuration) -> Void

        var testDescription: String { name }

        static let all: [InvalidConfiguration] = [
            .init(name: "idle timeout 0", setting: "idleTimeout") { $0.expiry.idleTimeout = .zero },
            .init(name: "negative idle timeout", setting: "idleTimeout") { $0.expiry.idleTimeout = .seconds(-1) },
            .init(name: "absolute timeout 0", setting: "absoluteTimeout") { $0.expiry.absoluteTimeout = .zero },
            .init(name: "idle timeout longer than absolute", setting: "idleTimeout") {
                $0.expiry.idleTimeout = .seconds(3_600)
                $0.expiry.absoluteTimeout = .seconds(1_800)
            },
            .init(name: "touch interval equal to idle timeout", setting: "touchInterval") {
                $0.expiry.touchInterval = $0.expiry.idleTimeout
            },
            .init(name: "touch interval longer than idle timeout", setting: "touchInterval") {
                $0.expiry.touchInterval = .seconds(3_600)
            },
            .init(name: "negative touch interval", setting: "touchInterval") { $0.expiry.touchInterval = .seconds(-1) },
            .init(name: "CSRF cookie named like the session cookie", setting: "csrf.cookieName") {
                $0.csrf.cookieName = "__Host-sessionkit"
            },
            .init(name: "CSRF cookie named like the insecure session cookie", setting: "csrf.cookieName") {
                $0.cookie.isSecure = false
                $0.csrf.cookieName = "sessionkit"
            },
            .init(name: "trusted origin without a scheme", setting: "csrf.trustedOrigins") { $0.csrf.trustedOrigins = ["example.com"] },
            .init(name: "trusted origin with a trailing slash", setting: "csrf.trustedOrigins") {
                $0.csrf.trustedOrigins = ["https://a.com/"]
            },
            .init(name: "trusted origin with a path", setting: "csrf.trustedOrigins") { $0.csrf.trustedOrigins = ["https://a.com/admin"] },
            .init(name: "trusted origin with another scheme", setting: "csrf.trustedOrigins") { $0.csrf.trustedOrigins = ["ftp://a.com"] },
            .init(name: "trusted origin with user info", setting: "csrf.trustedOrigins") {
                $0.csrf.trustedOrigins = ["https://user@a.com"]
            },
            .init(name: "trusted origin with port 0", setting: "csrf.trustedOrigins") { $0.csrf.trustedOrigins = ["https://a.com:0"] },
            .init(name: "negative conflict retries", setting: "maximumConflictRetries") { $0.maximumConflictRetries = -1 },
            .init(name: "cookie length limit below a token's", setting: "maximumCookieValueLength") {
                $0.maximumCookieValueLength = 42
            },
        ]
    }

    @Test(arguments: InvalidConfiguration.all)
    func anInvalidConfigurationIsRefusedNamingTheSetting(_ invalid: InvalidConfiguration) throws {
        var configuration = SessionEngine.Configuration()
        invalid.change(&configuration)

        let error = #expect(throws: SessionConfigurationError.self) {
            try SessionEngine(store: try MemoryStore(), configuration: configuration)
        }

        #expect(error?.setting == invalid.setting)
    }

    @Test(arguments: ["https://a.com:8443", "https://a.com", "http://localhost:8080", "https://[::1]:8443", "HTTPS://Admin.Example.COM"])
    func aFullTrustedOriginIsAccepted(_ origin: String) throws {
        var configuration = SessionEngine.Configuration()
        configuration.csrf.trustedOrigins = [origin]

        #expect(throws: Never.self) { try SessionEngine(store: try MemoryStore(), configuration: configuration) }
    }
}
