// snippet.hide
#if HummingbirdAuth
import Foundation
import Hummingbird
import HummingbirdAuth
import SessionKitHummingbirdAuth

/// Stands in for the app's user model and password check.
struct User: Sendable {
    var id: Int
    var name: String
}
func verifyPassword(_ request: Request, _ context: some RequestContext) async throws -> User { User(id: 42, name: "alice") }

// snippet.show
// snippet.repository
/// Finds a user by the id the session is bound to, as for HummingbirdAuth's SessionAuthenticator.
struct UserRepository: UserSessionRepository {
    func getUser(from id: Int, context: UserRepositoryContext) async throws -> User? {
        id == 42 ? User(id: 42, name: "alice") : nil  // your database
    }
}
// snippet.end

// snippet.routes
typealias AppContext = BasicSessionKitAuthRequestContext<User>
let router = Router(context: AppContext.self)
router.add(middleware: SessionKitMiddleware(engine: try SessionEngine(store: try MemoryStore())))
router.add(middleware: SessionKitAuthenticator(users: UserRepository(), context: AppContext.self))

router.post("/login") { request, context -> HTTPResponse.Status in
    let user = try await verifyPassword(request, context)  // yours
    context.login(user.id)  // a new session id, bound to the user
    return .noContent
}
router.get("/me") { _, context in try context.requireIdentity().name }
router.post("/logout") { _, context -> HTTPResponse.Status in
    context.logout()  // the session is invalidated
    return .noContent
}
// snippet.end
// snippet.hide
#endif
