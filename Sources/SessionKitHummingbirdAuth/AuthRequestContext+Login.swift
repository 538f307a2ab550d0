#if HummingbirdAuth
public import HummingbirdAuth
public import SessionKitHummingbird

extension AuthRequestContext where Self: SessionKitRequestContext {
    /// Signs the user with `id` in, from the next request on: the session gets a
    /// new token bound to `id` (``RequestSession/regenerate(owner:)``).
    ///
    /// The new token defeats session fixation (a token planted before sign-in is
    /// worthless) and lists the session under the user for "sign out other
    /// devices" (``SessionEngine/revokeSessions(of:except:)``). The session keeps
    /// its values. ``SessionKitAuthenticator`` finds the user by `id` on the
    /// requests that follow; this request's `identity` is unchanged.
    ///
    /// - Parameter id: The user's id, as the authenticator's repository reads it back
    ///   (its `description`).
    public func login(_ id: some LosslessStringConvertible) {
        session.regenerate(owner: id.description)
    }

    /// Signs the user out: the session is invalidated (``RequestSession/invalidate()``),
    /// values and all, and its token is no longer valid.
    ///
    /// Values written after this call start a fresh session under a new token
    /// (a "signed out" flash message, say). This request's `identity` is unchanged.
    public func logout() {
        session.invalidate()
    }
}
#endif  // HummingbirdAuth
