/// The demo's user: anyone may sign in under a name of 1 to 64 characters.
///
/// The session is bound to the name (its owner), and each demo's authenticator
/// finds the user from it on every request: Vapor's `req.auth` through
/// `AsyncSessionKitAuthenticator`, HummingbirdAuth's `context.identity` through
/// `SessionKitAuthenticator`. The demo keeps no list of users, so ``init(name:)``
/// is its whole user repository: a name it refuses is no user.
public struct DemoUser: Sendable, Hashable {
    /// The name, which is also the user's id and the session's owner.
    public let name: String

    /// The user with `name`, or `nil` when the name is empty or longer than 64 characters.
    ///
    /// - Parameter name: The name, exactly as sent.
    public init?(name: String) {
        guard !name.isEmpty, name.count <= 64 else { return nil }
        self.name = name
    }
}

/// How a demo route reaches its framework's authentication.
public struct DemoAuthentication: Sendable {
    /// The signed-in user, as the framework's authenticator found it; `nil` when signed out.
    public var user: DemoUser?
    /// Signs a user in: the session gets a new token bound to the user's name.
    public var login: @Sendable (DemoUser) -> Void
    /// Signs the user out: the session is invalidated, and values written after start a fresh one.
    public var logout: @Sendable () -> Void

    /// Creates the bridge.
    ///
    /// - Parameters:
    ///   - user: The signed-in user, or `nil`.
    ///   - login: Signs a user in through the framework's authentication.
    ///   - logout: Signs the user out through the framework's authentication.
    public init(user: DemoUser?, login: @escaping @Sendable (DemoUser) -> Void, logout: @escaping @Sendable () -> Void) {
        self.user = user
        self.login = login
        self.logout = logout
    }
}
