public import SessionDemoSupport
public import SessionKit
import SessionKitVapor
public import Vapor

/// Builds `session-demo-vapor`: the same HTML pages and JSON API as the
/// Hummingbird demo, on Vapor.
///
/// The routes, their bodies and the store set-up come from `SessionDemoSupport`,
/// shared with `session-demo`; this type only registers them with Vapor.
public enum DemoVaporApplication {
    /// Configures `app` as the demo: the configured store and engine, the store's
    /// background work, the middleware, the routes, `HOST` and `PORT`, and the
    /// log level (`LOG_LEVEL`, but never below `debug`: Vapor's trace output
    /// holds every request's Cookie header).
    ///
    /// - Parameters:
    ///   - app: The application to configure.
    ///   - configuration: The demo's settings.
    ///   - metrics: The metrics `GET /metrics` serves (from ``DemoMetrics/bootstrap(_:)``,
    ///     called before this), or `nil` for no such route.
    /// - Throws: ``SessionConfigurationError`` when the store cannot be set up (for example an unwritable `SESSION_FILE_PATH`).
    public static func configure(_ app: Application, configuration: DemoConfiguration, metrics: DemoMetrics? = nil) async throws {
        // Vapor logs every request head at trace, Cookie header and all, so a
        // session token would reach the log: its logger never goes below debug.
        // SessionKit logs nothing at trace, so LOG_LEVEL=trace loses nothing of it.
        app.logger.logLevel = max(configuration.logLevel, .debug)
        try await app.sessionKit.use(DemoEngineFactory.driver(configuration: configuration), configuration: configuration.engine)
        app.http.server.configuration.hostname = configuration.host
        app.http.server.configuration.port = configuration.port
        app.http.server.configuration.serverName = "session-demo"
        routes(app, engine: app.sessionKit.engine, metrics: metrics)
    }

    /// Sets `engine` as the app's SessionKit engine, installs the middleware and
    /// registers the demo's routes; for tests and for ``configure(_:configuration:metrics:)``.
    ///
    /// - Parameters:
    ///   - app: The application.
    ///   - engine: The session engine.
    ///   - metrics: The metrics `GET /metrics` serves, or `nil` for no such route.
    public static func routes(_ app: Application, engine: SessionEngine, metrics: DemoMetrics? = nil) {
        app.sessionKit.engine = engine
        // Vapor runs every global middleware on every route, so the probes are
        // answered by a middleware placed before the session middleware:
        // `/healthz` answers while the store is down.
        app.middleware.use(ProbeMiddleware(probes: DemoRoutes.probes(metrics: metrics)))
        app.middleware.use(app.sessionKit.middleware)
        // Logs the user the session is bound to in on req.auth, and binds or ends the
        // session when a route signs in or out; the demo's names are its users.
        app.middleware.use(DemoUser.sessionKitAuthenticator { name, _ in DemoUser(name: name) })
        for route in DemoRoutes.all {
            add(route, to: app, engine: engine)
        }
    }

    private static func add(_ route: DemoRoute, to app: Application, engine: SessionEngine) {
        // Routes that read the body stream it, so the demo's own limit applies, not Vapor's default.
        let strategy: HTTPBodyStreamStrategy = route.readsBody ? .stream : .collect
        app.on(HTTPMethod(rawValue: route.method), route.path.pathComponents, body: strategy) { req async throws -> Response in
            var body: [UInt8] = []
            if route.readsBody {
                let buffer: ByteBuffer?
                do {
                    // Vapor refuses a body of `max` bytes or more, hence the `+ 1`.
                    buffer = try await req.body.collect(max: DemoRoutes.maximumBodySize + 1).get()
                } catch let error as any AbortError where error.status == .payloadTooLarge {
                    return response(.bodyTooLarge)
                }
                // A body that arrived whole, or that the middleware collected, skips `collect`'s limit.
                guard (buffer?.readableBytes ?? 0) <= DemoRoutes.maximumBodySize else { return response(.bodyTooLarge) }
                body = buffer.map { Array($0.readableBytesView) } ?? []
            }
            return await respond(route, req, engine: engine, body: body)
        }
    }

    private static func respond(_ route: DemoRoute, _ req: Request, engine: SessionEngine, body: [UInt8]) async -> Response {
        var parameters: [String: String] = [:]
        for name in route.parameterNames {
            parameters[name] = req.parameters.get(name)
        }
        let auth = DemoAuthentication(
            user: req.auth.get(DemoUser.self),
            // The authenticator binds the session to the user after the handler.
            login: { req.auth.login($0) },
            // The authenticator would end the session after the handler; ending it now
            // lets the route write to the fresh session (the "signed out" flash).
            logout: {
                req.auth.logout(DemoUser.self)
                req.sessionKit.invalidate()
            }
        )
        return response(await route.handle(DemoRequest(session: req.sessionKit, engine: engine, auth: auth, parameters: parameters, body: body)))
    }

    /// Answers `GET` on a probe's path itself, passing every other request on.
    private struct ProbeMiddleware: AsyncMiddleware {
        let probes: [DemoProbe]

        func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
            guard request.method == .GET, let probe = probes.first(where: { $0.path == request.url.path }) else {
                return try await next.respond(to: request)
            }
            return DemoVaporApplication.response(probe.respond())
        }
    }

    private static func response(_ demo: DemoResponse) -> Response {
        var headers = HTTPHeaders()
        for header in demo.headers {
            headers.add(name: header.name, value: header.value)
        }
        return Response(status: HTTPResponseStatus(statusCode: demo.status), headers: headers, body: .init(string: demo.body))
    }
}

/// The demo's users sign in on `req.auth`; the session is bound to the name.
extension DemoUser: SessionAuthenticatable {
    /// The name: the session's owner.
    public var sessionID: String { name }
}
