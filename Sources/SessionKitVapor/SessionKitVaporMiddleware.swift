#if Vapor
import NIOCore
public import SessionKit
public import Vapor

/// Vapor middleware that loads the request's session before the handler and
/// commits it after, through a ``SessionEngine``; handlers reach the session as
/// `req.sessionKit`.
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
/// middleware collects Vapor's streamed body, at most
/// ``CSRFConfiguration/maximumFormBodySize`` bytes (a larger one is `413`);
/// Vapor then keeps the collected bytes as the request's body, so the handler
/// still reads it, through `req.body.data`, `req.content` or a `.stream` route.
///
/// ```swift
/// app.sessionKit.engine = try SessionEngine(store: MemoryStore())
/// app.middleware.use(app.sessionKit.middleware)
/// app.post("counter") { req in
///     "\(req.sessionKit.increment("count"))"
/// }
/// ```
///
/// Register it after Vapor's `ErrorMiddleware` (`app.middleware.use` appends,
/// so the default order is right): an error thrown by a handler then passes
/// through it and the session is not committed. The name differs from Vapor's
/// `SessionsMiddleware` on purpose, so both can be used in one app.
public struct SessionKitVaporMiddleware: AsyncMiddleware {
    /// The engine that loads and commits sessions.
    public let engine: SessionEngine

    /// Creates the middleware.
    ///
    /// - Parameter engine: The engine that loads and commits sessions.
    public init(engine: SessionEngine) {
        self.engine = engine
    }

    /// Vapor's entry point: runs ``respond(to:chainingTo:)-(_,AsyncResponder)`` in a task
    /// that prefers the request's event loop, so the session work, the chain
    /// after it and the commit run there without hopping threads — unless the
    /// store blocks its calling thread (``SessionStore/blocksCallingThread``), which
    /// is kept off the event loop as Vapor's `AsyncMiddleware` does. (``FileStore``
    /// does not: its file I/O runs on threads of its own, never on the event loop.)
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - next: The rest of the chain.
    /// - Returns: The response, with the session's headers.
    public func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        let promise = request.eventLoop.makePromise(of: Response.self)
        let responder = AsyncBasicResponder { try await next.respond(to: $0).get() }
        if engine.blocksCallingThread {
            promise.completeWithTask { try await self.respond(to: request, chainingTo: responder) }
        } else {
            Task(executorPreference: EventLoopTaskExecutor(request.eventLoop)) {
                do {
                    promise.succeed(try await self.respond(to: request, chainingTo: responder))
                } catch {
                    promise.fail(error)
                }
            }
        }
        return promise.futureResult
    }

    /// Loads the session, runs the rest of the chain, commits, and adds the session headers.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - next: The rest of the chain.
    /// - Returns: The response, with the session's headers.
    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let session: RequestSession
        do {
            session = try await engine.load(cookieHeader: CookieHeader.joined(request.headers[.cookie]), client: client(of: request))
        } catch let error as SessionStoreError {
            return .sessionStoreUnavailable(error)
        }
        request.storage[RequestSessionKey.self] = session
        if let refusal = try await checkCSRF(request, session: session) { return refusal }
        let response: Response
        do {
            response = try await next.respond(to: request)
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
        for header in result.headers(vary: response.headers[.vary], cacheControl: response.headers[.cacheControl]) {
            response.headers.add(name: header.name, value: header.value)
        }
        return response
    }
}

extension SessionKitVaporMiddleware {
    /// Runs the CSRF check; returns the refusal to send, or `nil` to go on.
    private func checkCSRF(_ request: Request, session: RequestSession) async throws -> Response? {
        guard engine.csrfMayCheck(method: request.method.rawValue) else { return nil }
        let headers = request.headers
        let csrfRequest = engine.csrfRequest(method: request.method.rawValue, path: request.url.path, host: headers.first(name: .host)) {
            headers.first(name: $0)
        }
        var formBody: [UInt8]?
        if engine.csrfNeedsFormBody(csrfRequest) {
            let limit = engine.configuration.csrf.maximumFormBodySize
            let buffer: ByteBuffer?
            do {
                // Collecting replaces the body stream with the collected bytes, which the handler
                // reads in turn. Vapor refuses a body of `max` bytes or more, hence the `+ 1`.
                buffer = try await request.body.collect(max: limit + 1).get()
            } catch let error as any AbortError where error.status == .payloadTooLarge {
                return .csrfRefused(engine.csrfFormTooLarge(csrfRequest), request: request)
            }
            // A body that arrived whole was collected by Vapor already, and `collect` applies no limit to it.
            guard (buffer?.readableBytes ?? 0) <= limit else {
                return .csrfRefused(engine.csrfFormTooLarge(csrfRequest), request: request)
            }
            formBody = buffer.map { Array($0.readableBytesView) } ?? []
        }
        guard let failure = engine.checkCSRF(csrfRequest, session: session, formBody: formBody) else { return nil }
        return .csrfRefused(failure, request: request)
    }
}

extension SessionKitVaporMiddleware {
    /// The client details the engine may record (only when its metadata configuration asks).
    private func client(of request: Request) -> SessionClient? {
        let metadata = engine.configuration.metadata
        guard metadata.recordsUserAgent || metadata.recordsIPAddress else { return nil }
        // The connection's peer, as the Hummingbird adapter uses; not a header a client can forge.
        return SessionClient(userAgent: request.headers.first(name: .userAgent), ipAddress: request.remoteAddress?.ipAddress)
    }
}

extension Response {
    /// `403` (or `413`) with a short body saying why, as the engine words it.
    static func csrfRefused(_ error: CSRFError, request: Request) -> Response {
        Response(error.response(acceptHeaders: request.headers[.accept]))
    }

    /// `503` with a short text body naming the store, as the engine words it.
    static func sessionStoreUnavailable(_ error: SessionStoreError) -> Response {
        Response(error.response)
    }

    /// Copies an engine response across.
    convenience init(_ response: SessionErrorResponse) {
        var headers = HTTPHeaders()
        for header in response.headers { headers.add(name: header.name, value: header.value) }
        self.init(status: HTTPResponseStatus(statusCode: response.status), headers: headers, body: .init(string: response.body))
    }
}
#endif  // Vapor
