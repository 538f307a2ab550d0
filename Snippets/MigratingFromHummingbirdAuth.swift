// snippet.hide
#if HummingbirdAuth
import Foundation
import Hummingbird
import HummingbirdAuth
import SessionKitHummingbirdAuth

/// Stands in for the app's user model and lookup.
struct User: Sendable {
    var id: String
    var name: String
}
func findUser(id: String) async throws -> User? { nil }
func verifyPassword(_ request: Request, _ context: some RequestContext) async throws -> User { User(id: "42", name: "alice") }

// snippet.show
// snippet.context
/// A context with a session and the signed-in user, as BasicSessionRequestContext<Session, User> had.
struct AppContext: SessionKitRequestContext, AuthRequestContext {
    var coreContext: CoreRequestContextStorage
    var session = RequestSession()
    var identity: User?
    init(source: Source) { coreContext = .init(source: source) }
}

/// The repository SessionAuthenticator used, unchanged: it finds a user by the session's owner.
struct UserRepository: UserSessionRepository {
    func getUser(from id: String, context: UserRepositoryContext) async throws -> User? {
        try await findUser(id: id)
    }
}
// snippet.end

// snippet.routes
let router = Router(context: AppContext.self)
router.add(middleware: SessionKitMiddleware(engine: try SessionEngine(store: try MemoryStore())))  // was: SessionMiddleware(storage:)
router.add(middleware: SessionKitAuthenticator(users: UserRepository(), context: AppContext.self))  // was: SessionAuthenticator

router.post("/login") { request, context in
    let user = try await verifyPassword(request, context)  // yours
    context.login(user.id)  // was: context.sessions.createSession(user.id); now also a new session id
    return "ok"
}
router.get("/me") { _, context in try context.requireIdentity().name }
router.post("/logout") { _, context in
    context.logout()  // was: context.sessions.clearSession()
    return "ok"
}
// snippet.end

// snippet.typed
/// What a typed hummingbird-auth session held; here one value among others.
struct Cart: Codable { var items: [String] }

router.post("/cart/:item") { _, context in
    var cart = try context.session.get("cart", as: Cart.self) ?? Cart(items: [])
    cart.items.append(try context.parameters.require("item"))
    try context.session.put("cart", encoding: cart)
    return "\(cart.items.count) items"
}
// snippet.end
// snippet.hide
#endif
