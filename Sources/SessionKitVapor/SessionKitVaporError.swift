#if Vapor
public import SessionKit
public import Vapor

/// A CSRF refusal or a session store failure, as an `AbortError` for the app's
/// error handling.
///
/// ``SessionKitVaporMiddleware`` made with `throwsErrors: true`
/// (`app.sessionKit.middleware(throwsErrors: true)`) throws it instead of
/// answering, so an app's `ErrorMiddleware`, or a middleware of its own
/// registered before SessionKit's, can render it in the app's style:
///
/// ```swift
/// app.middleware.use(app.sessionKit.middleware(throwsErrors: true))
/// // In the app's ErrorMiddleware closure:
/// if let error = error as? SessionKitVaporError, error.csrfError != nil {
///     return Response(status: error.status, body: .init(string: "Please reload the form."))
/// }
/// ```
///
/// ``defaultResponse`` is SessionKit's own rendering (the response the
/// middleware sends when it does not throw). Vapor's default `ErrorMiddleware`
/// renders it as JSON `{"error": true, "reason": …}` with ``status``, ``reason``
/// and ``headers``. It is not a `DebuggableError`, so it is never logged as a
/// server error by Vapor; the engine has logged it already.
public struct SessionKitVaporError: AbortError, CustomStringConvertible {
    /// The CSRF check's refusal (`403`, or `413` for an oversized form), or `nil`.
    public let csrfError: CSRFError?
    /// The store failure (`503`; `413` for a session too large to save, `409`
    /// when another request ended the session), or `nil`.
    public let storeError: SessionStoreError?
    private let rendering: SessionErrorResponse

    /// Wraps a CSRF refusal.
    ///
    /// - Parameters:
    ///   - csrfError: The refusal.
    ///   - acceptHeaders: The request's `Accept` lines, which choose a JSON or text ``defaultResponse``.
    public init(csrfError: CSRFError, acceptHeaders: [String]) {
        self.csrfError = csrfError
        self.storeError = nil
        self.rendering = csrfError.response(acceptHeaders: acceptHeaders)
    }

    /// Wraps a store failure.
    ///
    /// - Parameter storeError: The failure.
    public init(storeError: SessionStoreError) {
        self.csrfError = nil
        self.storeError = storeError
        self.rendering = storeError.response
    }

    /// `403`, `413`, `409` or `503`.
    public var status: HTTPResponseStatus { HTTPResponseStatus(statusCode: rendering.status) }

    /// The short text SessionKit answers with: why the request was refused, or
    /// which store failed; never a token or a key.
    public var reason: String {
        if let csrfError { return csrfError.message }
        return storeError?.responseMessage ?? ""
    }

    /// The headers of ``defaultResponse``: `Cache-Control: no-store`, and
    /// `Retry-After` for a store failure, with its `Content-Type`.
    public var headers: HTTPHeaders {
        var headers = HTTPHeaders()
        for header in rendering.headers { headers.add(name: header.name, value: header.value) }
        return headers
    }

    /// SessionKit's own rendering: the response ``SessionKitVaporMiddleware`` sends
    /// when it does not throw.
    public var defaultResponse: Response {
        Response(status: status, headers: headers, body: .init(string: rendering.body))
    }

    /// The wrapped error's description.
    public var description: String {
        if let csrfError { return "\(csrfError)" }
        return storeError.map { "\($0)" } ?? "SessionKitVaporError"
    }
}
#endif  // Vapor
