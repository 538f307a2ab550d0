import Foundation
import SessionKit
import SessionKitConformance
import Testing

/// Sessions with no absolute timeout (oslo's sliding 30 days) and the policy's checks.
@Suite struct SessionExpiryPolicyTests {
    private let createdAt = Date(timeIntervalSince1970: 1_700_000_000)
    private let day: TimeInterval = 86_400

    /// oslo's policy: 30 days, extended when less than 15 days are left, no absolute limit.
    private let oslo = SessionExpiryPolicy(idleTimeout: .seconds(30 * 86_400), absoluteTimeout: nil, touchInterval: .seconds(15 * 86_400))

    @Test func aSlidingSessionWithoutAnAbsoluteTimeoutIsExtendedPastSevenDays() throws {
        try oslo.validate()

        let decision = oslo.validate(expiresAt: createdAt + 30 * day, createdAt: createdAt, now: createdAt + 20 * day)

        #expect(decision == .extended(to: createdAt + 50 * day))
    }

    @Test func aSlidingSessionWithoutAnAbsoluteTimeoutLivesAsLongAsItIsUsed() {
        let now = createdAt + 400 * day

        #expect(!oslo.isPastAbsoluteTimeout(createdAt: createdAt, now: now))
        #expect(oslo.validate(expiresAt: now + 10 * day, createdAt: createdAt, now: now) == .extended(to: now + 30 * day))
        #expect(oslo.validate(expiresAt: now + 20 * day, createdAt: createdAt, now: now) == .valid)
        #expect(oslo.validate(expiresAt: now, createdAt: createdAt, now: now) == .expired)
    }

    @Test func aSlidingSessionIsNotExtendedBeforeTheTouchInterval() {
        #expect(oslo.validate(expiresAt: createdAt + 30 * day, createdAt: createdAt, now: createdAt + 10 * day) == .valid)
    }

    @Test func theDefaultPolicyKeepsItsSevenDayAbsoluteTimeout() {
        let policy = SessionExpiryPolicy()

        #expect(policy.absoluteTimeout == .seconds(7 * 86_400))
        #expect(policy.expiry(createdAt: createdAt, now: createdAt + 7 * day - 60) == createdAt + 7 * day)
    }

    /// The silent cap this replaces: idle 30 days with the 7-day absolute
    /// default is refused with a message naming `nil`, not quietly cut to 7 days.
    @Test func validateRefusesAnIdleTimeoutLongerThanTheAbsoluteOneAndNamesNil() {
        var policy = SessionExpiryPolicy()
        policy.idleTimeout = .seconds(30 * 86_400)

        #expect {
            try policy.validate()
        } throws: { error in
            let error = error as? SessionConfigurationError
            return error?.setting == "idleTimeout" && error?.reason.contains("nil") == true
        }
    }

    /// Through the engine: a session used every few days outlives the 7 days
    /// a default policy would allow.
    /// A 30-day idle timeout with the default 7-day absolute timeout used to be
    /// cut to 7 days without a word; the engine now refuses it at start-up.
    @Test func anEngineWithAnIdleTimeoutLongerThanTheAbsoluteOneFailsAtStartUp() throws {
        var configuration = SessionEngine.Configuration()
        configuration.expiry = SessionExpiryPolicy(idleTimeout: .seconds(30 * 86_400))
        let error = #expect(throws: SessionConfigurationError.self) {
            try SessionEngine(store: MemoryStore(), configuration: configuration)
        }
        #expect(error?.setting == "absoluteTimeout" || error?.setting == "idleTimeout")
    }

    @Test func theEngineKeepsASessionWithoutAnAbsoluteTimeoutAlive() async throws {
        let harness = try EngineHarness { configuration in
            configuration.expiry = SessionExpiryPolicy(
                idleTimeout: .seconds(30 * 86_400),
                absoluteTimeout: nil,
                touchInterval: .seconds(15 * 86_400)
            )
        }
        let token = try await harness.createSession()

        for _ in 0..<10 {
            harness.clock.advance(by: .seconds(16 * 86_400))
            let session = try await harness.load(token)
            try #require(session.isLoaded, "the session ended at \(harness.clock.now())")
            #expect(try await harness.engine.commit(session).action == .touched)
        }
        let stored = try #require(try await harness.store.load(token.key))
        #expect(stored.record.expiresAt == harness.clock.now() + 30 * day)
    }
}
