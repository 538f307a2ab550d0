#if HummingbirdAuth
public import Hummingbird
public import HummingbirdAuth
public import SessionKitHummingbird

/// Sets HummingbirdAuth's `context.identity` to the user the SessionKit session
/// is bound to: SessionKit's counterpart of HummingbirdAuth's `SessionAuthenticator`.
///
/// It reads the session's ``RequestSession/owner`` (bound at sign-in by
/// `context.login(_:)`, which calls ``RequestSession/regenerate(owner:)``),
/// turns it into the repository's
/// `Identifier` and asks the repository for the user, as `SessionAuthenticator`
/// asks a `UserSessionRepository`. Put it after ``SessionKitMiddleware``:
///
/// ```swift
/// let router = Router(context: BasicSessionKitAuthRequestContext<User>.self)
/// router.add(middleware: SessionKitMiddleware(engine: engine))
/// router.add(middleware: SessionKitAuthenticator(users: userRepository))
/// router.post("/login") { request, context in
///     let user = try await verifyPassword(request, context)
///     context.login(user.id)  // a new token, bound to the user
///     return HTTPResponse.Status.noContent
/// }
/// router.get("/me") { _, context in try context.requireIdentity().name }
/// ```
///
/// A session without an owner, an owner that is not a valid `Identifier`, and an
/// owner the repository does not know (a deleted user) leave the request
/// unauthenticated: `context.identity` stays `nil`, and `IsAuthenticatedMiddleware`
/// or `requireIdentity()` answer `401`. A session ended elsewhere (signed out,
/// revoked from another device, expired) is no session, so no user. An error the
/// repository throws fails the request.
///
/// It does not check passwords and does not write to the session.
public struct SessionKitAuthenticator<
    Context: SessionKitRequestContext & AuthRequestContext,
    Repository: UserSessionRepository
>: AuthenticatorMiddleware
where Repository.User == Context.Identity, Repository.Identifier: LosslessStringConvertible {
    /// The signed-in user's type.
    public typealias Identity = Context.Identity

    /// Where the users are found by the session's owner.
    public let users: Repository

    /// Creates the authenticator on a user repository.
    ///
    /// - Parameters:
    ///   - users: Finds a user by its id, the session's owner.
    ///   - context: The request context type.
    public init(users: Repository, context: Context.Type = Context.self) {
        self.users = users
    }

    /// Creates the authenticator on a closure that finds a user by its id.
    ///
    /// - Parameters:
    ///   - context: The request context type.
    ///   - getUser: Returns the user with the id, or `nil` when there is none.
    public init<Identifier: Codable & LosslessStringConvertible>(
        context: Context.Type = Context.self,
        getUser: @escaping @Sendable (Identifier, UserRepositoryContext) async throws -> Context.Identity?
    ) where Repository == UserSessionClosureRepository<Identifier, Identity> {
        self.users = UserSessionClosureRepository(getUser)
    }

    /// The user the session's owner names, or `nil`.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - context: The request's context, with its loaded session.
    /// - Returns: The user, or `nil` when the session names none the repository knows.
    public func authenticate(request: Request, context: Context) async throws -> Identity? {
        guard let owner = context.session.owner, let id = Repository.Identifier(owner) else { return nil }
        return try await users.getUser(from: id, context: .init(logger: context.logger))
    }
}
#endif  // HummingbirdAuth
