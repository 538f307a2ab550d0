#if Vapor
import SessionKit
public import Vapor

/// Signs users in and out of Vapor's `req.auth` through the SessionKit session:
/// SessionKit's counterpart of Vapor's `AsyncSessionAuthenticator`.
///
/// The user type is Vapor's own `SessionAuthenticatable`; its `sessionID` is
/// what the session is bound to (its ``RequestSession/owner``). Implement
/// ``authenticate(sessionID:for:)`` as for Vapor: find the user with that id
/// and log it in with `request.auth.login(user)`. Put the authenticator on the
/// routes after ``SessionKitVaporMiddleware``:
///
/// ```swift
/// struct UserSessionAuthenticator: AsyncSessionKitAuthenticator {
///     typealias User = App.User
///     func authenticate(sessionID: String, for request: Request) async throws {
///         if let user = try await users.find(id: sessionID) { request.auth.login(user) }
///     }
/// }
///
/// app.middleware.use(app.sessionKit.middleware)
/// let signedIn = app.grouped(UserSessionAuthenticator())
/// signedIn.post("login") { req in
///     req.auth.login(try await verifyPassword(req))
///     return "ok"
/// }
/// ```
///
/// Before the handler, when no `User` is on `req.auth` yet and the session is
/// bound to an owner, it calls ``authenticate(sessionID:for:)`` with that owner
/// (as `User.SessionID`). After the handler returns:
///
/// - a `User` on `req.auth` whose `sessionID` is not the session's owner (the
///   handler called `req.auth.login(user)`): the session gets a new token bound
///   to the user, ``RequestSession/regenerate(owner:)``. A token planted before
///   sign-in is worthless (session fixation), and the session is listed under
///   the user for "sign out other devices" (``SessionEngine/revokeSessions(of:except:)``).
/// - no `User`, and the session was bound when the request came (the handler
///   called `req.auth.logout(User.self)`, or the owner names no user any more):
///   the session is invalidated (``RequestSession/invalidate()``), values and all.
/// - the handler invalidated the session itself: that signs the user out, and
///   the user on `req.auth` is not bound to the fresh session.
///
/// A session ended elsewhere (signed out, revoked from another device, expired)
/// has no owner, so the next request is not authenticated.
///
/// It does not check passwords, and it does not guard routes: add
/// `User.guardMiddleware()` or `User.redirectMiddleware(path:)` after it for that.
/// A session has one owner, so put one such authenticator on a route.
///
/// - Note: The new token comes with a new CSRF secret, after the handler: a CSRF
///   token the sign-in handler itself rendered is for the old one. Redirect after
///   signing in, or read the `XSRF-TOKEN` cookie the response sets.
public protocol AsyncSessionKitAuthenticator: AsyncMiddleware {
    /// The signed-in user's type; its `sessionID` is the session's owner.
    associatedtype User: SessionAuthenticatable

    /// Finds the user with `sessionID` and logs it in with `request.auth.login(_:)`.
    ///
    /// Log nothing in when there is no such user: the request goes on unauthenticated,
    /// and the authenticator signs the session out after the handler. Throw only for
    /// a failure (the user database is down), which fails the request.
    ///
    /// - Parameters:
    ///   - sessionID: The id the session is bound to.
    ///   - request: The request.
    func authenticate(sessionID: User.SessionID, for request: Request) async throws
}

extension AsyncSessionKitAuthenticator {
    /// Logs the session's user in, runs the rest of the chain, then binds the
    /// session to the user on `req.auth`, or signs it out.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - next: The rest of the chain.
    /// - Returns: The response.
    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        guard let session = request.storage[RequestSessionKey.self] else {
            assertionFailure("\(Self.self) runs before SessionKitVaporMiddleware; register app.sessionKit.middleware first")
            request.logger.error("\(Self.self) runs before SessionKitVaporMiddleware; the request is not authenticated")
            return try await next.respond(to: request)
        }
        let boundOwner = session.owner
        if !request.auth.has(User.self), let owner = boundOwner, let sessionID = User.SessionID(owner) {
            try await authenticate(sessionID: sessionID, for: request)
        }
        let response = try await next.respond(to: request)
        session.follow(signedIn: request.auth.get(User.self).map { $0.sessionID.description }, boundOwner: boundOwner)
        return response
    }
}

/// An ``AsyncSessionKitAuthenticator`` that finds the user with a closure; made by
/// `User.sessionKitAuthenticator(find:)`.
public struct SessionKitUserAuthenticator<User: SessionAuthenticatable>: AsyncSessionKitAuthenticator {
    private let find: @Sendable (User.SessionID, Request) async throws -> User?

    /// Creates the authenticator.
    ///
    /// - Parameter find: Returns the user with the id, or `nil` when there is none;
    ///   it throws only for a failure, which fails the request.
    public init(find: @escaping @Sendable (_ sessionID: User.SessionID, _ request: Request) async throws -> User?) {
        self.find = find
    }

    /// Logs the user `find` returns in, if any.
    ///
    /// - Parameters:
    ///   - sessionID: The id the session is bound to.
    ///   - request: The request.
    public func authenticate(sessionID: User.SessionID, for request: Request) async throws {
        if let user = try await find(sessionID, request) {
            request.auth.login(user)
        }
    }
}

extension SessionAuthenticatable {
    /// An authenticator that logs this type's users in on `req.auth` from the
    /// SessionKit session: the counterpart of Fluent's `User.sessionAuthenticator()`.
    ///
    /// ```swift
    /// app.middleware.use(app.sessionKit.middleware)
    /// let signedIn = app.grouped(User.sessionKitAuthenticator { id, req in try await User.find(id, on: req.db) })
    /// ```
    ///
    /// - Parameter find: Returns the user with the id, or `nil` when there is none.
    /// - Returns: The authenticator, for `app.grouped(_:)` or `app.middleware.use(_:)`.
    public static func sessionKitAuthenticator(
        find: @escaping @Sendable (_ sessionID: SessionID, _ request: Request) async throws -> Self?
    ) -> SessionKitUserAuthenticator<Self> {
        SessionKitUserAuthenticator(find: find)
    }
}

extension RequestSession {
    /// Binds the session to the user signed in after the handler, or signs it out.
    ///
    /// - Parameters:
    ///   - signedIn: The signed-in user's id (`sessionID`), or `nil` for none.
    ///   - boundOwner: The owner the session had when the request came.
    func follow(signedIn: String?, boundOwner: String?) {
        // Owners are compared by their bytes, as the stores compare them.
        func same(_ owner: String?, _ other: String?) -> Bool {
            guard let owner, let other else { return false }
            return owner.utf8.elementsEqual(other.utf8)
        }
        if let signedIn {
            // Already bound to this user: nothing to write.
            if same(owner, signedIn) { return }
            // The handler ended the session of the user who is still on req.auth: that is a sign-out.
            if isInvalidated && same(boundOwner, signedIn) { return }
            // Signed in by this request (or as someone else): a new token, bound to the user.
            regenerate(owner: signedIn)
        } else if boundOwner != nil, same(owner, boundOwner) {
            // Logged out of req.auth, or the owner names no user any more: end the session.
            invalidate()
        }
    }
}
#endif  // Vapor
