#if Hummingbird
public import HTTPTypes
public import Hummingbird
public import SessionKit

/// A CSRF refusal or a session store failure, thrown by ``SessionKitMiddleware``
/// for Hummingbird's error handling.
///
/// Hummingbird renders it with ``response(from:context:)``: SessionKit's short
/// response, `403` (`413` for an oversized form) saying why, as JSON when the
/// client accepts JSON; or `503` naming the store, with `Retry-After: 1`; never
/// cached. An app that wants its own style catches it in a middleware added
/// before SessionKit's:
///
/// ```swift
/// struct SessionErrorPages<Context: RequestContext>: RouterMiddleware {
///     func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
///         do {
///             return try await next(request, context)
///         } catch let error as SessionKitHTTPError where error.csrfError != nil {
///             return Response(status: error.status, body: .init(byteBuffer: ByteBuffer(string: "Please reload the form.")))
///         }
///     }
/// }
/// ```
///
/// It wraps the engine's error rather than being it because ``CSRFError`` has a
/// `status` of its own (an `Int`), which `HTTPResponseError.status` would clash with.
public struct SessionKitHTTPError: HTTPResponseError, CustomStringConvertible {
    /// The CSRF check's refusal (`403`, or `413` for an oversized form), or `nil`.
    public var csrfError: CSRFError? {
        if case .csrf(let error) = wrapped { return error }
        return nil
    }

    /// The store failure (`503`; `413` for a session too large to save, `409`
    /// when another request ended the session), or `nil`.
    public var storeError: SessionStoreError? {
        if case .store(let error) = wrapped { return error }
        return nil
    }

    private enum Wrapped: Sendable {
        case csrf(CSRFError)
        case store(SessionStoreError)
    }

    private let wrapped: Wrapped

    /// Wraps a CSRF refusal.
    ///
    /// - Parameter csrfError: The refusal.
    public init(csrfError: CSRFError) {
        self.wrapped = .csrf(csrfError)
    }

    /// Wraps a store failure.
    ///
    /// - Parameter storeError: The failure.
    public init(storeError: SessionStoreError) {
        self.wrapped = .store(storeError)
    }

    /// `403`, `413`, `409` or `503`.
    public var status: HTTPResponse.Status {
        switch wrapped {
        case .csrf(let error): HTTPResponse.Status(code: error.status)
        case .store(let error): HTTPResponse.Status(code: error.response.status)
        }
    }

    /// SessionKit's own response, as the engine words it.
    ///
    /// - Parameters:
    ///   - request: The request, whose `Accept` header chooses JSON or text for a CSRF refusal.
    ///   - context: The request context.
    /// - Returns: The response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let rendering =
            switch wrapped {
            case .csrf(let error): error.response(acceptHeaders: request.headers[values: .accept])
            case .store(let error): error.response
            }
        var headers = HTTPFields()
        headers.appendSessionHeaders(rendering.headers)
        return Response(
            status: HTTPResponse.Status(code: rendering.status),
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: rendering.body))
        )
    }

    /// The wrapped error's description.
    public var description: String {
        switch wrapped {
        case .csrf(let error): "\(error)"
        case .store(let error): "\(error)"
        }
    }
}
#endif  // Hummingbird
