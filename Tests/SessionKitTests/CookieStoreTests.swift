import Foundation
import SessionKit
import SessionKitConformance
import Synchronization
import Testing

/// Drives an engine on the ``CookieStore`` the way an adapter does: the session
/// cookie from one response is the next request's Cookie header.
private struct CookieHarness {
    let clock = ManualClock()
    let engine: SessionEngine

    init(
        keys: [CookieStore.Key]? = nil,
        ownerEpoch: CookieStore.OwnerEpoch? = nil,
        configure: (inout SessionEngine.Configuration) -> Void = { _ in }
    ) throws {
        var configuration = SessionEngine.Configuration()
        configure(&configuration)
        let store = try CookieStore(keys: keys ?? [.generate(id: "k1")], ownerEpoch: ownerEpoch)
        engine = try SessionEngine(cookieStore: store, configuration: configuration, clock: clock)
    }

    var cookieName: String { engine.configuration.cookie.effectiveName }

    /// The session cookie's value in a commit result, if it set one.
    func sessionCookie(_ result: SessionCommitResult) -> String? {
        for line in result.setCookies where line.hasPrefix(cookieName + "=") {
            let value = line.dropFirst(cookieName.count + 1).prefix { $0 != ";" }
            return String(value)
        }
        return nil
    }

    /// One request carrying `cookie`; returns the session cookie in force afterwards.
    @discardableResult
    func request(_ cookie: String?, _ handler: (RequestSession) throws -> Void = { _ in }) async throws -> (
        session: RequestSession, result: SessionCommitResult, cookie: String?
    ) {
        let session = try await engine.load(cookieHeader: cookie.map { "\(cookieName)=\($0)" })
        try handler(session)
        let result = try await engine.commit(session)
        return (session, result, sessionCookie(result) ?? cookie)
    }
}

@Suite struct CookieStoreTests {
    @Test func aSessionRoundTripsThroughItsCookie() async throws {
        let harness = try CookieHarness()
        let first = try await harness.request(nil) {
            $0.put("user", "alice")
            $0.put("cart", ["items": [1, 2.5, "three"], "coupon": nil])
        }
        #expect(first.result.action == .created)
        let cookie = try #require(first.cookie)
        let second = try await harness.request(cookie)
        #expect(second.session.isLoaded)
        #expect(second.session.get("user") == "alice")
        #expect(second.session.get("cart") == ["items": [1, 2.5, "three"], "coupon": nil])
        #expect(second.result.action == .none, "an unchanged request inside the touch interval sets no cookie")
        #expect(second.result.setCookies.isEmpty)
    }

    @Test func theCookieIsEncryptedNotJustSigned() async throws {
        let harness = try CookieHarness()
        let cookie = try #require(try await harness.request(nil) { $0.put("secret", "correct horse battery staple") }.cookie)
        #expect(!cookie.contains("correct"))
        #expect(!cookie.contains("secret"))
        #expect(cookie.hasPrefix("k1."), "the cookie names the key that sealed it")
    }

    /// Attack: an attacker flips bits in their own encrypted cookie hoping to
    /// change a value (for example the user); authenticated encryption refuses it.
    @Test(arguments: [0, 3, 10, 40, 80])
    func aTamperedCookieIsNoSession(position: Int) async throws {
        let harness = try CookieHarness()
        let cookie = try #require(try await harness.request(nil) { $0.put("user", "alice") }.cookie)
        var bytes = Array(cookie.utf8)
        let index = min(3 + position, bytes.count - 1)
        bytes[index] = bytes[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let tampered = String(decoding: bytes, as: UTF8.self)
        let next = try await harness.request(tampered)
        #expect(!next.session.isLoaded)
        #expect(next.session.get("user") == nil)
    }

    @Test(arguments: ["", "k1.", "k1", "k1.AAAA", "nokey.abc", "k1.!!!!", String(repeating: "A", count: 5_000)])
    func aTruncatedOrGarbageCookieIsNoSession(value: String) async throws {
        let harness = try CookieHarness()
        let next = try await harness.request(value) { _ in }
        #expect(!next.session.isLoaded)
        #expect(next.result.setCookies.isEmpty, "a request that writes nothing sets no cookie")
    }

    @Test func aCutShortCookieIsNoSession() async throws {
        let harness = try CookieHarness()
        let cookie = try #require(try await harness.request(nil) { $0.put("user", "alice") }.cookie)
        let next = try await harness.request(String(cookie.dropLast(10)))
        #expect(!next.session.isLoaded)
    }

    /// Attack: a cookie sealed by another deployment (another key ring) is not accepted.
    @Test func aForeignCookieIsNoSession() async throws {
        let ours = try CookieHarness(keys: [.generate(id: "k1")])
        let theirs = try CookieHarness(keys: [.generate(id: "k1")])
        let cookie = try #require(try await theirs.request(nil) { $0.put("user", "mallory") }.cookie)
        #expect(!(try await ours.request(cookie).session.isLoaded))
    }

    @Test func rotationKeepsOldCookiesAndSealsWithTheNewestKey() async throws {
        let old = try CookieStore.Key.generate(id: "old")
        let new = try CookieStore.Key.generate(id: "new")
        let before = try CookieHarness(keys: [old])
        let cookie = try #require(try await before.request(nil) { $0.put("user", "alice") }.cookie)

        let after = try CookieHarness(keys: [new, old])
        let next = try await after.request(cookie) { $0.put("seen", true) }
        #expect(next.session.get("user") == "alice", "a cookie sealed with the older key still opens")
        let resealed = try #require(next.cookie)
        #expect(resealed.hasPrefix("new."), "the newest key seals")

        let retired = try CookieHarness(keys: [new])
        #expect(!(try await retired.request(cookie).session.isLoaded), "a cookie sealed with a dropped key no longer opens")
    }

    @Test func aCookieMovedToAnotherCookieNameDoesNotOpen() async throws {
        let keys = [try CookieStore.Key.generate(id: "k1")]
        let app = try CookieHarness(keys: keys, configure: { $0.cookie.name = "app" })
        let admin = try CookieHarness(keys: keys, configure: { $0.cookie.name = "admin" })
        let cookie = try #require(try await app.request(nil) { $0.put("user", "alice") }.cookie)
        #expect(!(try await admin.request(cookie).session.isLoaded), "the cookie name is authenticated with the payload")
    }

    @Test func idleExpiryIsEnforcedFromInsideTheCookie() async throws {
        let harness = try CookieHarness()
        let cookie = try #require(try await harness.request(nil) { $0.put("user", "alice") }.cookie)
        harness.clock.advance(by: .seconds(31 * 60))
        #expect(!(try await harness.request(cookie).session.isLoaded))
    }

    @Test func absoluteExpiryHoldsEvenWhenTouched() async throws {
        let harness = try CookieHarness()
        var cookie = try #require(try await harness.request(nil) { $0.put("user", "alice") }.cookie)
        // Stay active every 20 minutes: the idle limit never hits, the absolute one must.
        for _ in 0..<(7 * 24 * 3) - 1 {
            harness.clock.advance(by: .seconds(20 * 60))
            let next = try await harness.request(cookie)
            #expect(next.session.isLoaded)
            cookie = next.cookie ?? cookie
        }
        harness.clock.advance(by: .seconds(20 * 60))
        #expect(!(try await harness.request(cookie).session.isLoaded), "7 days after creation the session is gone")
    }

    @Test func aSessionTooLargeForACookieFailsTheCommitNamingTheSize() async throws {
        let harness = try CookieHarness()
        let session = try await harness.engine.load(cookieHeader: nil)
        session.put("blob", .string(String(repeating: "x", count: 5_000)))
        do {
            _ = try await harness.engine.commit(session)
            Issue.record("a 5 KB session was sealed into a cookie")
        } catch let error as SessionStoreError {
            #expect(error.code == .tooLarge)
            #expect(error.storeName == "cookie")
            #expect(error.message.contains("4096"))
        }
    }

    @Test func logoutExpiresTheCookie() async throws {
        let harness = try CookieHarness(configure: { $0.csrf.mode = .originOnly })
        let cookie = try #require(try await harness.request(nil) { $0.put("user", "alice") }.cookie)
        let logout = try await harness.request(cookie) { $0.invalidate() }
        let line = try #require(logout.result.setCookies.first { $0.hasPrefix(harness.cookieName + "=") })
        #expect(line.contains("Max-Age=0"))
    }

    /// Documented limit: without server state, two requests that change one
    /// session at once cannot both land; the last response wins.
    @Test func concurrentChangesLastWriteWins() async throws {
        let harness = try CookieHarness()
        let cookie = try #require(try await harness.request(nil) { $0.put("count", 0) }.cookie)
        let first = try await harness.request(cookie) { $0.increment("count") }
        let second = try await harness.request(cookie) { $0.increment("count") }
        let winner = try #require(second.cookie)
        #expect(first.cookie != nil)
        #expect(try await harness.request(winner).session.get("count") == 1, "one increment is lost, as documented")
    }

    /// Attack: a stolen cookie keeps working after logout (no server state); bumping
    /// the owner's epoch revokes every older cookie of that owner at once.
    @Test func bumpingTheOwnerEpochRevokesEveryOlderCookie() async throws {
        let epochs = Mutex<[String: Int64]>([:])
        let harness = try CookieHarness(ownerEpoch: { owner in epochs.withLock { $0[owner, default: 0] } })
        let laptop = try #require(try await harness.request(nil) { $0.regenerate(owner: "alice") }.cookie)
        let phone = try #require(try await harness.request(nil) { $0.regenerate(owner: "alice") }.cookie)
        let bob = try #require(try await harness.request(nil) { $0.regenerate(owner: "bob") }.cookie)
        #expect(try await harness.request(laptop).session.owner == "alice")

        epochs.withLock { $0["alice"] = 1 }
        #expect(!(try await harness.request(laptop).session.isLoaded))
        #expect(!(try await harness.request(phone).session.isLoaded))
        #expect(try await harness.request(bob).session.isLoaded, "another owner's cookies are untouched")

        let again = try #require(try await harness.request(nil) { $0.regenerate(owner: "alice") }.cookie)
        #expect(try await harness.request(again).session.isLoaded, "a login after the bump carries the new epoch")
    }

    /// Defect (issue 16, item 8): `regenerate(owner:)` with the owner the cookie
    /// already had kept the old epoch, so the recipe "bump the epoch, then keep
    /// this device with `regenerate(owner:)`" signed this device out as well.
    @Test func regeneratingWithTheSameOwnerAfterAnEpochBumpKeepsThisDevice() async throws {
        let epochs = Mutex<[String: Int64]>([:])
        let harness = try CookieHarness(ownerEpoch: { owner in epochs.withLock { $0[owner, default: 0] } })
        let laptop = try #require(try await harness.request(nil) { $0.regenerate(owner: "alice") }.cookie)
        let phone = try #require(try await harness.request(nil) { $0.regenerate(owner: "alice") }.cookie)

        let kept = try await harness.request(laptop) { session in
            epochs.withLock { $0["alice", default: 0] += 1 }
            session.regenerate(owner: "alice")
        }
        let laptopAfter = try #require(kept.cookie)
        #expect(try await harness.request(laptopAfter).session.isLoaded, "the device that bumped the epoch was signed out too")
        #expect(!(try await harness.request(phone).session.isLoaded), "the other device survived the bump")
    }

    @Test func theCookieStoreHasNoOwnerIndex() async throws {
        let harness = try CookieHarness()
        await #expect(throws: SessionStoreError.self) { try await harness.engine.sessions(of: "alice") }
    }

    @Test(arguments: [
        ("", "needs at least one key"),
        ("k1", "id:base64key"),
        ("k1:AAAA", "32 bytes"),
        ("bad id!:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "key id"),
        ("k1:%%%%", "base64"),
    ])
    func aBadKeyListFailsAtStartUpNamingTheVariable(list: String, reason: String) {
        #expect {
            _ = try CookieStore(keyList: list)
        } throws: { error in
            guard let error = error as? SessionConfigurationError else { return false }
            return error.setting == "SESSION_COOKIE_KEYS" && error.reason.contains(reason)
        }
    }

    @Test func aKeyListEntryRoundTrips() throws {
        let key = try CookieStore.Key.generate(id: "k7")
        let store = try CookieStore(keyList: key.listEntry + "," + (try CookieStore.Key.generate(id: "k6")).listEntry)
        #expect(store.keys.map(\.id) == ["k7", "k6"])
    }
}
