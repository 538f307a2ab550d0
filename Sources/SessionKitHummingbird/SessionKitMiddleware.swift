#if Hummingbird
public import HTTPTypes
public import Hummingbird
public import SessionKit

/// Hummingbird middleware that loads the request's session before the handler
/// and commits it after, through a ``SessionEngine``.
///
/// It only translates: the Cookie header goes in, `Set-Cookie`, `Vary` and
/// `Cache-Control` come out; every decision is the engine's. A store failure
/// is answered with `503 Service Unavailable` and a short body naming the
/// store, never with an empty session. When the handler throws, nothing is
/// committed; a ``CSRFError`` it throws (from `validateCSRF`) is answered like the
/// automatic check's refusal, and a ``SessionStoreError`` like a store failure.
///
/// Unsafe requests pass the engine's CSRF check before the handler runs; a
/// refused one gets `403` with a short body saying why (JSON when the client
/// accepts JSON), and nothing is written. To find the token in a form body the
/// middleware reads at most ``CSRFConfiguration/maximumFormBodySize`` bytes and
/// hands the same bytes on, so the handler can still read the body.
///
/// ```swift
/// let engine = try SessionEngine(store: MemoryStore())
/// let router = Router(context: BasicSessionKitRequestContext.self)
/// router.add(middleware: SessionKitMiddleware(engine: engine))
/// router.post("/counter") { _, context in
///     "\(context.session.increment("count"))"
/// }
/// ```
///
/// The name differs from HummingbirdAuth's `SessionMiddleware` on purpose, so
/// both modules can be imported together.
public struct SessionKitMiddleware<Context: SessionKitRequestContext>: RouterMiddleware {
    /// The engine that loads and commits sessions.
    public let engine: SessionEngine

    /// Creates the middleware.
    ///
    /// - Parameter engine: The engine that loads and commits sessions.
    public init(engine: SessionEngine) {
        self.engine = engine
    }

    /// Loads the session, runs the rest of the chain, commits, and adds the session headers.
    public func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let session: RequestSession
        do {
            session = try await engine.load(cookieHeader: CookieHeader.joined(request.headers[values: .cookie]), client: client(of: request, context: context))
        } catch let error as SessionStoreError {
            return .sessionStoreUnavailable(error)
        }
        context.session = session
        var request = request
        if let refusal = try await checkCSRF(&request, session: session) { return refusal }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as CSRFError {
            // A route's own check (`validateCSRF`) refused the request: the same answer
            // as the automatic check's, and nothing is committed.
            return .csrfRefused(error, request: request)
        } catch let error as SessionStoreError {
            // A route's own store call (listing or revoking sessions) failed: 503 naming
            // the store, not a 500; nothing is committed.
            return .sessionStoreUnavailable(error)
        }
        let result: SessionCommitResult
        do {
            result = try await engine.commit(session)
        } catch let error as SessionStoreError {
            return .sessionStoreUnavailable(error)
        }
        response.headers.appendSessionHeaders(
            result.headers(vary: response.headers[values: .vary], cacheControl: response.headers[values: .cacheControl])
        )
        return response
    }
}

extension SessionKitMiddleware {
    /// Runs the CSRF check; returns the refusal to send, or `nil` to go on.
    private func checkCSRF(_ request: inout Request, session: RequestSession) async throws -> Response? {
        guard engine.csrfMayCheck(method: request.method.rawValue) else { return nil }
        let headers = request.headers
        let csrfRequest = engine.csrfRequest(method: request.method.rawValue, path: request.uri.path, host: request.head.authority) {
            HTTPField.Name($0).flatMap { headers[$0] }
        }
        var formBody: [UInt8]?
        if engine.csrfNeedsFormBody(csrfRequest) {
            do {
                // collectBody keeps the collected bytes as the request's body, for the handler.
                let buffer = try await request.collectBody(upTo: engine.configuration.csrf.maximumFormBodySize)
                formBody = Array(buffer.readableBytesView)
            } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                // The body stream throws NIOCore's NIOTooManyBytesError, which Hummingbird
                // makes an HTTPResponseError with this status; an HTTPError alone never matches.
                return .csrfRefused(engine.csrfFormTooLarge(csrfRequest), request: request)
            }
        }
        guard let failure = engine.checkCSRF(csrfRequest, session: session, formBody: formBody) else { return nil }
        return .csrfRefused(failure, request: request)
    }
}

extension SessionKitMiddleware {
    /// The client details the engine may record (only when its metadata configuration asks).
    private func client(of request: Request, context: Context) -> SessionClient? {
        let metadata = engine.configuration.metadata
        guard metadata.recordsUserAgent || metadata.recordsIPAddress else { return nil }
        let address = (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress
        return SessionClient(userAgent: request.headers[.userAgent], ipAddress: address)
    }
}

extension HTTPFields {
    mutating func appendSessionHeaders(_ headers: [(name: String, value: String)]) {
        for header in headers {
            guard let name = HTTPField.Name(header.name) else { continue }
            append(HTTPField(name: name, value: header.value))
        }
    }
}

extension Response {
    /// `403` (or `413`) with a short body saying why, as the engine words it.
    static func csrfRefused(_ error: CSRFError, request: Request) -> Response {
        Response(error.response(acceptHeaders: request.headers[values: .accept]))
    }

    /// `503` with a short text body naming the store, as the engine words it.
    static func sessionStoreUnavailable(_ error: SessionStoreError) -> Response {
        Response(error.response)
    }

    /// Copies an engine response across.
    init(_ response: SessionErrorResponse) {
        var headers = HTTPFields()
        headers.appendSessionHeaders(response.headers)
        self.init(
            status: HTTPResponse.Status(code: response.status),
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: response.body))
        )
    }
}
#endif  // Hummingbird
