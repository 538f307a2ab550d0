import Foundation
import SessionKit
import SessionKitConformance

/// An engine on a ``MemoryStore`` with a manual clock, and helpers to make sessions in it.
struct EngineFixture: Sendable {
    let engine: SessionEngine
    let store: MemoryStore
    let clock: ManualClock

    /// - Parameters:
    ///   - expiry: Timeouts; the defaults are the engine's.
    ///   - csrf: CSRF mode; sessions get a CSRF secret under `.originAndToken`.
    ///   - decodedRecordCacheCapacity: The engine's decoded-record cache; `0` decodes every load.
    init(
        expiry: SessionExpiryPolicy = .init(),
        csrf: CSRFConfiguration.Mode = .originAndToken,
        decodedRecordCacheCapacity: Int = SessionEngine.Configuration().decodedRecordCacheCapacity
    ) throws {
        let clock = ManualClock()
        let store = try MemoryStore(configuration: .init(maximumSessions: 10_000_000), clock: clock)
        var configuration = SessionEngine.Configuration(expiry: expiry)
        configuration.csrf.mode = csrf
        configuration.decodedRecordCacheCapacity = decodedRecordCacheCapacity
        self.clock = clock
        self.store = store
        self.engine = try SessionEngine(store: store, configuration: configuration, clock: clock)
    }

    /// The Cookie header for `token`, as a browser sends it.
    func cookieHeader(_ token: SessionToken) -> String {
        "\(engine.configuration.cookie.effectiveName)=\(token.cookieValue)"
    }

    /// Creates a logged-in session (a user and a counter) and returns its token.
    func login(user: String = "alice") async throws -> SessionToken {
        let session = try await engine.load(cookieHeader: nil)
        session.put("user", .string(user))
        session.put("count", .int(0))
        let result = try await engine.commit(session)
        guard let token = result.token else { throw FixtureError.noToken(result.action.description) }
        return token
    }
}

enum FixtureError: Error {
    case noToken(String)
    case unexpectedAction(String)
}
