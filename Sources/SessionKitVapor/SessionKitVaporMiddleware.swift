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
/// With ``throwsErrors`` each of these is thrown instead, as a
/// ``SessionKitVaporError``, for the app's own error handling to render.
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
/// try await app.sessionKit.use(.memory)
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
    private let source: EngineSource
    /// Whether refusals and store failures are thrown to the app's error handling
    /// as ``SessionKitVaporError`` instead of answered here.
    public let throwsErrors: Bool

    private enum EngineSource: Sendable {
        case engine(SessionEngine)
        case slot(SessionEngineSlot)
    }

    /// Creates the middleware.
    ///
    /// - Parameters:
    ///   - engine: The engine that loads and commits sessions.
    ///   - throwsErrors: `false` (the default) to answer a CSRF refusal (`403`,
    ///     `413` for an oversized form) or a store failure (`503`) with SessionKit's
    ///     own short response; `true` to throw a ``SessionKitVaporError`` for the
    ///     app's `ErrorMiddleware` or a middleware registered before this one to
    ///     render. (Vapor's `ErrorMiddleware` renders every `AbortError` as JSON
    ///     `{"error": true, "reason": …}`, so throwing by default would change
    ///     SessionKit's responses for every app.)
    public init(engine: SessionEngine, throwsErrors: Bool = false) {
        self.source = .engine(engine)
        self.throwsErrors = throwsErrors
    }

    init(engineSlot: SessionEngineSlot, throwsErrors: Bool) {
        self.source = .slot(engineSlot)
        self.throwsErrors = throwsErrors
    }

    /// The engine that loads and commits sessions.
    ///
    /// - Precondition: For the middleware of ``Application/SessionKitConfiguration/middleware``,
    ///   an engine is set (`app.sessionKit.use(_:)`); an app without one does not start.
    public var engine: SessionEngine {
        do {
            return try resolvedEngine()
        } catch {
            preconditionFailure("app.sessionKit.middleware used with no engine: \(error)")
        }
    }

    /// The engine, or a configuration error for a request that came before one was set.
    private func resolvedEngine() throws -> SessionEngine {
        switch source {
        case .engine(let engine): return engine
        case .slot(let slot):
            guard let engine = slot.engine else {
                throw SessionConfigurationError(
                    setting: "app.sessionKit",
                    reason: "no engine is set; call `try await app.sessionKit.use(.memory)` (or another store) while configuring the app"
                )
            }
            return engine
        }
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
        let engine: SessionEngine
        do {
            engine = try resolvedEngine()
        } catch {
            return request.eventLoop.makeFailedFuture(error)
        }
        let promise = request.eventLoop.makePromise(of: Response.self)
        let responder = AsyncBasicResponder { try await next.respond(to: $0).get() }
        if engine.blocksCallingThread {
            promise.completeWithTask { try await self.respond(to: request, chainingTo: responder, engine: engine) }
        } else {
            Task(executorPreference: EventLoopTaskExecutor(request.eventLoop)) {
                do {
                    promise.succeed(try await self.respond(to: request, chainingTo: responder, engine: engine))
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
        try await respond(to: request, chainingTo: next, engine: try resolvedEngine())
    }

    /// ``respond(to:chainingTo:)-(_,AsyncResponder)`` with the engine resolved;
    /// answers SessionKit's own errors unless ``throwsErrors``.
    private func respond(to request: Request, chainingTo next: any AsyncResponder, engine: SessionEngine) async throws -> Response {
        do {
            return try await handle(request, chainingTo: next, engine: engine)
        } catch let error as SessionKitVaporError where !throwsErrors {
            return error.defaultResponse
        }
    }

    private func handle(_ request: Request, chainingTo next: any AsyncResponder, engine: SessionEngine) async throws -> Response {
        let session: RequestSession
        do {
            session = try await engine.load(cookieHeader: CookieHeader.joined(request.headers[.cookie]), client: client(of: request, engine: engine))
        } catch let error as SessionStoreError {
            throw SessionKitVaporError(storeError: error)
        }
        request.storage[RequestSessionKey.self] = session
        try await checkCSRF(request, session: session, engine: engine)
        let response: Response
        do {
            response = try await next.respond(to: request)
        } catch let error as CSRFError {
            // A route's own check (`validateCSRF`) refused the request: the same answer
            // as the automatic check's, and nothing is committed.
            throw SessionKitVaporError(csrfError: error, acceptHeaders: request.headers[.accept])
        } catch let error as SessionStoreError {
            // A route's own store call (listing or revoking sessions) failed: 503 naming
            // the store, not a 500; nothing is committed.
            throw SessionKitVaporError(storeError: error)
        }
        let result: SessionCommitResult
        do {
            result = try await engine.commit(session)
        } catch let error as SessionStoreError {
            throw SessionKitVaporError(storeError: error)
        }
        for header in result.headers(vary: response.headers[.vary], cacheControl: response.headers[.cacheControl]) {
            response.headers.add(name: header.name, value: header.value)
        }
        return response
    }
}

extension SessionKitVaporMiddleware {
    /// Runs the CSRF check; throws the refusal.
    private func checkCSRF(_ request: Request, session: RequestSession, engine: SessionEngine) async throws {
        guard engine.csrfMayCheck(method: request.method.rawValue) else { return }
        let accept = request.headers[.accept]
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
                throw SessionKitVaporError(csrfError: engine.csrfFormTooLarge(csrfRequest), acceptHeaders: accept)
            }
            // A body that arrived whole was collected by Vapor already, and `collect` applies no limit to it.
            guard (buffer?.readableBytes ?? 0) <= limit else {
                throw SessionKitVaporError(csrfError: engine.csrfFormTooLarge(csrfRequest), acceptHeaders: accept)
            }
            formBody = buffer.map { Array($0.readableBytesView) } ?? []
        }
        guard let failure = engine.checkCSRF(csrfRequest, session: session, formBody: formBody) else { return }
        throw SessionKitVaporError(csrfError: failure, acceptHeaders: accept)
    }
}

extension SessionKitVaporMiddleware {
    /// The client details the engine may record (only when its metadata configuration asks).
    private func client(of request: Request, engine: SessionEngine) -> SessionClient? {
        let metadata = engine.configuration.metadata
        guard metadata.recordsUserAgent || metadata.recordsIPAddress else { return nil }
        // The connection's peer, as the Hummingbird adapter uses; not a header a client can forge.
        return SessionClient(userAgent: request.headers.first(name: .userAgent), ipAddress: request.remoteAddress?.ipAddress)
    }
}

#endif  // Vapor
