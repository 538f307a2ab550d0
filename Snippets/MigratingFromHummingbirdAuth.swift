// snippet.hide
#if Hummingbird
import Foundation
import Hummingbird
import SessionKitHummingbird

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
struct AppContext: SessionKitRequestContext {
    var coreContext: CoreRequestContextStorage
    var session = RequestSession()
    var user: User?
    init(source: Source) { coreContext = .init(source: source) }
}

/// Replaces SessionAuthenticator: finds the user named by the session's owner.
struct UserFromSession: RouterMiddleware {
    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response) async throws -> Response {
        var context = context
        if let id = context.session.owner { context.user = try await findUser(id: id) }
        return try await next(request, context)
    }
}
// snippet.end

// snippet.routes
let router = Router(context: AppContext.self)
router.add(middleware: SessionKitMiddleware(engine: try SessionEngine(store: try MemoryStore())))
router.add(middleware: UserFromSession())

router.post("/login") { request, context in
    let user = try await verifyPassword(request, context)  // yours
    context.session.regenerate(owner: user.id)  // was: context.sessions.createSession(user.id)
    return "ok"
}
router.get("/me") { _, context in
    guard let user = context.user else { throw HTTPError(.unauthorized) }
    return user.name
}
router.post("/logout") { _, context in
    context.session.invalidate()  // was: context.sessions.clearSession()
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
