#if Hummingbird
import HTTPTypes
public import Hummingbird
public import SessionKit

/// Hummingbird middleware that loads the request's session before the handler
/// and commits it after, through a ``SessionEngine``.
///
/// It only translates: the Cookie header goes in, `Set-Cookie`, `Vary` and
/// `Cache-Control` come out; every decision is the engine's. A store failure
/// throws a ``SessionKitHTTPError`` that Hummingbird renders as `503 Service
/// Unavailable` with a short body naming the store, never an empty session.
/// When the handler throws, nothing is committed; a ``CSRFError`` it throws (from
/// `validateCSRF`) is thrown on like the automatic check's refusal, and a
/// ``SessionStoreError`` like a store failure.
///
/// Unsafe requests pass the engine's CSRF check before the handler runs; a
/// refused one throws a ``SessionKitHTTPError`` that renders as `403` with a
/// short body saying why (JSON when the client accepts JSON), and nothing is
/// written. A middleware of the app's own, added before this one, can catch
/// ``SessionKitHTTPError`` and answer in the app's style. To find the token in a form body the
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
            throw SessionKitHTTPError(storeError: error)
        }
        context.session = session
        var request = request
        try await checkCSRF(&request, session: session)
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as CSRFError {
            // A route's own check (`validateCSRF`) refused the request: the same answer
            // as the automatic check's, and nothing is committed.
            throw SessionKitHTTPError(csrfError: error)
        } catch let error as SessionStoreError {
            // A route's own store call (listing or revoking sessions) failed: 503 naming
            // the store, not a 500; nothing is committed.
            throw SessionKitHTTPError(storeError: error)
        }
        let result: SessionCommitResult
        do {
            result = try await engine.commit(session)
        } catch let error as SessionStoreError {
            throw SessionKitHTTPError(storeError: error)
        }
        response.headers.appendSessionHeaders(
            result.headers(vary: response.headers[values: .vary], cacheControl: response.headers[values: .cacheControl])
        )
        return response
    }
}

extension SessionKitMiddleware {
    /// Runs the CSRF check; throws the refusal.
    private func checkCSRF(_ request: inout Request, session: RequestSession) async throws {
        guard engine.csrfMayCheck(method: request.method.rawValue) else { return }
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
                throw SessionKitHTTPError(csrfError: engine.csrfFormTooLarge(csrfRequest))
            }
        }
        guard let failure = engine.checkCSRF(csrfRequest, session: session, formBody: formBody) else { return }
        throw SessionKitHTTPError(csrfError: failure)
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

#endif  // Hummingbird
