import Foundation
import SessionKit
import SessionKitConformance
import Testing

/// Using SessionKit by hand, without any web framework: the engine from raw
/// `Cookie` and `Set-Cookie` header values (as with ts-auth), and the expiry
/// policy and tokens for apps that keep sessions in their own tables (as with oslo).
@Suite struct ManualUseTests {
    /// The part of a browser that matters here: it keeps cookies from `Set-Cookie`
    /// lines and sends them back in one `Cookie` header.
    private struct Browser {
        var cookies: [(name: String, value: String)] = [("theme", "dark")]

        mutating func receive(_ headers: [(name: String, value: String)]) {
            for header in headers where header.name == "Set-Cookie" {
                let pair = header.value.prefix { $0 != ";" }
                let name = String(pair.prefix { $0 != "=" })
                let value = String(pair.dropFirst(name.count + 1))
                cookies.removeAll { $0.name == name }
                if !header.value.contains("; Max-Age=0;") { cookies.append((name, value)) }
            }
        }

        var cookieHeader: String { cookies.map { "\($0.name)=\($0.value)" }.joined(separator: "; ") }
    }

    @Test func aSessionTravelsThroughRawCookieHeaders() async throws {
        let clock = ManualClock()
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), clock: clock)
        var browser = Browser()

        let first = try await engine.load(cookieHeader: browser.cookieHeader)
        #expect(!first.isLoaded)
        first.start()
        first.put("user", "alice")
        let created = try await engine.commit(first)
        #expect(created.action == .created)
        #expect(created.headers.filter { $0.name == "Set-Cookie" }.count == 2)
        browser.receive(created.headers)

        let second = try await engine.load(cookieHeader: browser.cookieHeader)
        #expect(second.isLoaded)
        #expect(second.get("user") == "alice")
        second.invalidate()
        let loggedOut = try await engine.commit(second)
        browser.receive(loggedOut.headers)

        let third = try await engine.load(cookieHeader: browser.cookieHeader)
        #expect(third.isLoaded, "with CSRF tokens on, logout leaves a fresh session holding a new secret")
        #expect(third.get("user") == nil)
        #expect(browser.cookies.contains { $0 == ("theme", "dark") })
    }

    @Test func aStartedSessionWithNothingInItStillSetsItsCookie() async throws {
        let clock = ManualClock()
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), clock: clock)
        var browser = Browser()

        let first = try await engine.load(cookieHeader: browser.cookieHeader)
        first.start()
        browser.receive(try await engine.commit(first).headers)

        #expect(try await engine.load(cookieHeader: browser.cookieHeader).isLoaded)
    }

    // MARK: The expiry policy

    enum Outcome: Sendable, Equatable {
        case valid
        case expired
        case extended(toSecondsAfterCreation: Double)
    }

    struct ExpiryCase: Sendable, CustomTestStringConvertible {
        var name: String
        /// Seconds after creation.
        var expiresAt: Double
        var now: Double
        var outcome: Outcome

        var testDescription: String { name }

        static let week = 7.0 * 24 * 60 * 60
        static let all: [ExpiryCase] = [
            .init(name: "just created", expiresAt: 1_800, now: 0, outcome: .valid),
            .init(name: "30 s of activity", expiresAt: 1_800, now: 30, outcome: .valid),
            .init(name: "59 s of activity", expiresAt: 1_800, now: 59, outcome: .valid),
            .init(name: "60 s of activity", expiresAt: 1_800, now: 60, outcome: .extended(toSecondsAfterCreation: 1_860)),
            .init(name: "a second before the idle expiry", expiresAt: 1_800, now: 1_799, outcome: .extended(toSecondsAfterCreation: 3_599)),
            .init(name: "at the idle expiry", expiresAt: 1_800, now: 1_800, outcome: .expired),
            .init(name: "after the idle expiry", expiresAt: 1_800, now: 1_801, outcome: .expired),
            .init(name: "near the absolute limit", expiresAt: week - 300, now: week - 600, outcome: .extended(toSecondsAfterCreation: week)),
            .init(name: "already capped at the absolute limit", expiresAt: week, now: week - 600, outcome: .valid),
            .init(name: "at the absolute limit, stored expiry later", expiresAt: week + 600, now: week, outcome: .expired),
        ]
    }

    @Test(arguments: ExpiryCase.all)
    func expiryPolicyValidate(_ check: ExpiryCase) {
        let createdAt = Date(timeIntervalSince1970: 1_700_000_000)
        let policy = SessionExpiryPolicy()

        let decision = policy.validate(
            expiresAt: createdAt + check.expiresAt,
            createdAt: createdAt,
            now: createdAt + check.now
        )

        switch check.outcome {
        case .valid: #expect(decision == .valid)
        case .expired: #expect(decision == .expired)
        case .extended(let seconds): #expect(decision == .extended(to: createdAt + seconds))
        }
    }

    @Test func issueTokenGivesTheKeyToStoreAndTheExpiry() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let policy = SessionExpiryPolicy(idleTimeout: .seconds(600), absoluteTimeout: .seconds(3_600))

        let issued = policy.issueToken(now: now)

        #expect(issued.key == issued.token.key)
        #expect(issued.createdAt == now)
        #expect(issued.expiresAt == now + 600)
        #expect(policy.issueToken(now: now).token != issued.token)
    }

    /// An oslo-style app: its own table keyed by ``SessionKey``, the token in the cookie.
    @Test func anAppKeepsSessionsInItsOwnTable() throws {
        let policy = SessionExpiryPolicy()
        let createdAt = Date(timeIntervalSince1970: 1_700_000_000)
        let issued = policy.issueToken(now: createdAt)
        var table: [SessionKey: (userID: Int, createdAt: Date, expiresAt: Date)] = [:]
        table[issued.key] = (userID: 7, createdAt: issued.createdAt, expiresAt: issued.expiresAt)

        // A later request: parse the cookie, hash it, look the row up, validate it.
        let now = createdAt + 120
        let token = try #require(SessionToken(issued.token.cookieValue))
        let row = try #require(table[token.key])
        let decision = policy.validate(expiresAt: row.expiresAt, createdAt: row.createdAt, now: now)

        #expect(row.userID == 7)
        #expect(decision == .extended(to: now + 1_800))
        #expect(table[SessionToken.generate().key] == nil)
    }

    // MARK: Tokens and cookies

    @Test func aTokenRoundTripsThroughItsCookieValue() throws {
        let token = SessionToken.generate()

        let parsed = try #require(SessionToken(token.cookieValue))

        #expect(parsed == token)
        #expect(parsed.key == token.key)
        #expect(token.cookieValue.count == SessionToken.encodedLength)
        #expect(token.cookieValue.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        #expect(token.key.hex.count == 64)
        #expect(SessionKey(hex: token.key.hex) == token.key)
    }

    @Test func aTokenNeverPrintsItsValue() {
        let token = SessionToken.generate()

        #expect("\(token)" == "SessionToken(redacted)")
        #expect(!String(reflecting: token).contains(token.cookieValue))
    }

    /// Written as 400 days, the most browsers keep, so Max-Age and Expires say what is kept.
    @Test func aTwoYearCookieHasAFixedMaxAgeCappedAtFourHundredDays() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        let cookie = SessionCookieConfiguration(lifetime: .twoYears)

        let line = cookie.sessionCookie(value: "abc", expiresAt: now + 1_800, now: now)

        #expect(line == "__Host-sessionkit=abc; Path=/; Max-Age=34560000; Expires=Wed, 18 Dec 2024 22:13:20 GMT; Secure; HttpOnly; SameSite=Lax")
    }

    @Test func aSessionCookieFollowsTheSessionByDefault() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)

        let line = SessionCookieConfiguration().sessionCookie(value: "abc", expiresAt: now + 1_800, now: now)

        #expect(line == "__Host-sessionkit=abc; Path=/; Max-Age=1800; Expires=Tue, 14 Nov 2023 22:43:20 GMT; Secure; HttpOnly; SameSite=Lax")
    }

    @Test func theExpiredSessionCookieRemovesIt() {
        let line = SessionCookieConfiguration(lifetime: .twoYears).expiredSessionCookie()

        #expect(line == "__Host-sessionkit=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Lax")
    }

    @Test func theEngineSendsATwoYearCookieButKeepsTheIdleTimeout() async throws {
        let clock = ManualClock()
        let store = try MemoryStore(clock: clock)
        let engine = try SessionEngine(
            store: store,
            configuration: .init(cookie: .init(lifetime: .twoYears)),
            clock: clock
        )
        let session = try await engine.load(cookieHeader: nil)
        session.put("user", "alice")

        let result = try await engine.commit(session)

        #expect(result.setCookies.allSatisfy { $0.contains("; Max-Age=34560000;") })
        #expect(result.expiresAt == clock.now() + 1_800)
        let token = try #require(result.token)
        clock.advance(by: .seconds(31 * 60))
        #expect(!(try await engine.load(token: token).isLoaded))
    }
}
