import SessionKit
import SessionKitConformance
import SessionKitVapor
import Testing
import Vapor
import VaporTesting

/// An app that imports Vapor and SessionKitVapor together, and uses Vapor's
/// session names (`Session`, `SessionData`, `SessionID`, `SessionDriver`,
/// `SessionsMiddleware`, `req.session`, `app.sessions`) beside SessionKit's
/// (`RequestSession`, `SessionKitVaporMiddleware`, `req.sessionKit`,
/// `app.sessionKit`). That this file compiles is the main check: none of the
/// names is ambiguous.
@Suite struct NameClashTests {
    /// A user for both session authenticators.
    struct SignedIn: SessionAuthenticatable {
        var sessionID: String

        /// Vapor's own, on `req.session`.
        struct TheirAuthenticator: AsyncSessionAuthenticator {
            typealias User = SignedIn
            func authenticate(sessionID: String, for request: Request) async throws {}
        }
    }

    @Test func vaporSessionsAndSessionKitWorkSideBySide() async throws {
        try await withApp { app in
            // Vapor's sessions, configured the Vapor way.
            app.sessions.use(.memory)
            app.middleware.use(app.sessions.middleware)
            let vaporMiddleware: SessionsMiddleware = app.sessions.middleware
            _ = vaporMiddleware
            let driver: any SessionDriver = MemorySessions(storage: .init())
            _ = driver

            // SessionKit's, beside them.
            var configuration = SessionEngine.Configuration()
            configuration.cookie.isSecure = false
            app.sessionKit.engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
            let middleware: SessionKitVaporMiddleware = app.sessionKit.middleware
            app.middleware.use(middleware)

            app.get("both") { req -> String in
                let vaporSession: Session = req.session
                vaporSession.data["framework"] = "vapor"
                let vaporData: SessionData = vaporSession.data
                let vaporID: SessionID? = vaporSession.id
                _ = vaporID

                let ours: RequestSession = req.sessionKit
                ours.put("framework", "sessionkit")
                let value: SessionValue? = ours.get("framework")
                return "\(vaporData["framework"] ?? "-") \(value?.stringValue ?? "-")"
            }

            // Vapor's session authenticator protocol beside SessionKit's.
            let ourAuthenticator: any AsyncSessionKitAuthenticator = SessionKitUserAuthenticator<SignedIn> { _, _ in nil }
            let theirAuthenticator: any AsyncSessionAuthenticator = SignedIn.TheirAuthenticator()
            _ = (ourAuthenticator, theirAuthenticator)

            let response = try await app.testing().sendRequest(.GET, "/both")

            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == "vapor sessionkit")
            // Each sets its own cookie: Vapor's `vapor-session`, SessionKit's `sessionkit` and `XSRF-TOKEN`.
            let names = Set(response.headers[.setCookie].compactMap { $0.split(separator: "=").first.map(String.init) })
            #expect(names == ["vapor-session", "sessionkit", "XSRF-TOKEN"])
        }
    }
}
