#if Vapor
public import SessionKit
public import Vapor

extension Request {
    /// The request's SessionKit session, loaded by ``SessionKitVaporMiddleware``.
    ///
    /// Read and change it without `await` or `try`; the middleware commits it
    /// after the handler returns. Reading never starts a session, writing does.
    ///
    /// ```swift
    /// app.post("login") { req in
    ///     req.sessionKit.regenerate()
    ///     req.sessionKit.put("user", "alice")
    ///     req.sessionKit.flash("success", "Welcome, alice")
    ///     return ["token": req.sessionKit.csrfToken()]
    /// }
    /// ```
    ///
    /// It is named `sessionKit`, not `session`, because Vapor's own
    /// `Request.session` (of `SessionsMiddleware`) would make every use of a
    /// second `req.session` ambiguous; both can be used in one app.
    ///
    /// - Note: Without the middleware on the route, this asserts in debug builds
    ///   and, in release builds, logs an error and returns a session whose
    ///   changes are never saved (as Vapor's `req.session` does).
    public var sessionKit: RequestSession {
        if let session = storage[RequestSessionKey.self] { return session }
        assertionFailure("req.sessionKit used on a route without SessionKitVaporMiddleware; add app.middleware.use(app.sessionKit.middleware)")
        logger.error("req.sessionKit used on a route without SessionKitVaporMiddleware; its changes are not saved")
        let detached = RequestSession()
        storage[RequestSessionKey.self] = detached
        return detached
    }
}

/// Where ``SessionKitVaporMiddleware`` keeps the request's session.
struct RequestSessionKey: StorageKey {
    typealias Value = RequestSession
}
#endif  // Vapor
