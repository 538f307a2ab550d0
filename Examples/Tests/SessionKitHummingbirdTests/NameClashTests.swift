import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdTesting
import SessionKit
import SessionKitConformance
import SessionKitHummingbird
import SessionKitHummingbirdAuth
import Testing

// This file compiles only while none of SessionKit's public names clash with
// Hummingbird's or HummingbirdAuth's: every name below is written unqualified,
// with all five modules imported.

/// SessionKit's documented names.
typealias OurMiddleware = SessionKitMiddleware<BasicSessionKitRequestContext>
typealias OurContextProtocol = SessionKitRequestContext
typealias OurBasicContext = BasicSessionKitRequestContext
typealias OurSession = RequestSession
typealias OurEngine = SessionEngine
typealias OurMemoryStore = MemoryStore
typealias OurValue = SessionValue
typealias OurStoreService = SessionStoreService
typealias OurAuthenticator = SessionKitAuthenticator<OurAuthContext, UserSessionClosureRepository<String, String>>
typealias OurAuthContext = BasicSessionKitAuthRequestContext<String>

/// HummingbirdAuth's and Hummingbird's session and cookie names.
typealias TheirMiddleware = SessionMiddleware<BasicSessionRequestContext<String, String>>
typealias TheirContextProtocol = SessionRequestContext
typealias TheirBasicContext = BasicSessionRequestContext<String, String>
typealias TheirSessionContext = SessionContext<String>
typealias TheirSessionData = SessionData<String>
typealias TheirStorage = SessionStorage<String>
typealias TheirCookie = Cookie
typealias TheirCookies = Cookies
typealias TheirAuthenticator = SessionAuthenticator<BasicSessionRequestContext<String, String>, UserSessionClosureRepository<String, String>>
typealias TheirAuthContext = BasicAuthRequestContext<String>

/// A context that is both a SessionKit context and a HummingbirdAuth session context.
struct DualSessionContext: SessionKitRequestContext, SessionRequestContext {
    typealias Session = String

    var coreContext: CoreRequestContextStorage
    var session = RequestSession()
    let sessions = SessionContext<String>()

    init(source: Source) {
        self.coreContext = .init(source: source)
    }
}

@Suite struct NameClashTests {
    @Test func documentedNamesResolveToTheirOwnModules() {
        let ours: [Any.Type] = [
            OurMiddleware.self, OurBasicContext.self, OurSession.self, OurEngine.self,
            OurMemoryStore.self, OurValue.self, OurStoreService.self, OurAuthenticator.self, OurAuthContext.self,
        ]
        let theirs: [Any.Type] = [
            TheirMiddleware.self, TheirBasicContext.self, TheirSessionContext.self,
            TheirSessionData.self, TheirStorage.self, TheirAuthenticator.self, TheirAuthContext.self,
        ]

        for type in ours {
            let name = String(reflecting: type)
            #expect(
                name.hasPrefix("SessionKit.") || name.hasPrefix("SessionKitHummingbird.") || name.hasPrefix("SessionKitHummingbirdAuth."),
                "\(name)"
            )
        }
        for type in theirs {
            #expect(String(reflecting: type).hasPrefix("HummingbirdAuth."), "\(String(reflecting: type))")
        }
        #expect(String(reflecting: TheirCookie.self).hasPrefix("Hummingbird."))
        #expect(String(reflecting: TheirCookies.self).hasPrefix("Hummingbird."))
    }

    @Test func contextConformingToBothProtocolsWorksWithBothMiddlewares() async throws {
        let clock = ManualClock()
        let engine = try SessionEngine(store: try MemoryStore(clock: clock), clock: clock)
        let router = Router(context: DualSessionContext.self)
        router.add(middleware: SessionKitMiddleware(engine: engine))
        router.add(middleware: SessionMiddleware(storage: MemoryPersistDriver()))
        router.get("write") { _, context in
            context.session.put("ours", "kept by SessionKit")
            context.sessions.createSession("kept by HummingbirdAuth")
            return "ok"
        }
        router.get("read") { _, context in
            let ours = context.session.get("ours")?.stringValue ?? "none"
            let theirs = context.sessions.session ?? "none"
            return "\(ours) / \(theirs)"
        }

        try await Application(router: router).test(.router) { client in
            var jar = CookieJar()
            let write = try await client.execute("/write", method: .get, jar: &jar)
            #expect(write.status == .ok)
            #expect(jar[sessionCookieName] != nil)
            #expect(jar["SESSION_ID"] != nil)

            let read = try await client.execute("/read", method: .get, jar: &jar)

            #expect(read.text == "kept by SessionKit / kept by HummingbirdAuth")
        }
    }
}
