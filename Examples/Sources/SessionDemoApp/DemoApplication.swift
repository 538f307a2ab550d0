import HTTPTypes
public import Hummingbird
public import Logging
import NIOCore
import ServiceLifecycle
public import SessionDemoSupport
public import SessionKit
import SessionKitHummingbird
public import SessionKitHummingbirdAuth

/// Builds the demo: a Hummingbird app with HTML pages and a JSON API on SessionKit.
///
/// The routes, their bodies and the store set-up come from `SessionDemoSupport`,
/// shared with `session-demo-vapor`; this type only registers them with Hummingbird.
public enum DemoApplication {
    /// The demo's request context: the session, and the user ``router(engine:metrics:)``'s
    /// `SessionKitAuthenticator` finds from it (`context.identity`).
    public typealias Context = BasicSessionKitAuthRequestContext<DemoUser>

    /// Builds the application described by `configuration`, with its store's background work as one service.
    ///
    /// - Parameters:
    ///   - configuration: The demo's settings.
    ///   - logger: The app's logger.
    ///   - metrics: The metrics `GET /metrics` serves (from ``DemoMetrics/bootstrap(_:)``,
    ///     called before this), or `nil` for no such route.
    /// - Returns: The application, ready to `runService()`.
    /// - Throws: ``SessionConfigurationError`` when the store cannot be set up (for example an unwritable `SESSION_FILE_PATH`).
    public static func make(
        configuration: DemoConfiguration,
        logger: Logger,
        metrics: DemoMetrics? = nil
    ) async throws -> some ApplicationProtocol {
        let sessions = try await SessionKitService(
            DemoEngineFactory.driver(configuration: configuration),
            configuration: configuration.engine,
            logger: logger
        )
        return Application(
            router: router(engine: sessions.engine, metrics: metrics),
            // A request Hummingbird refuses with 400 (a header over its limit) leaves
            // the connection half-closed and no longer read: CloseAfterParseError closes
            // it, and the idle timeout is the backstop for a client that goes silent.
            server: .http1(configuration: .init(additionalChannelHandlers: [CloseAfterParseError()], idleTimeout: .seconds(30))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "session-demo"),
            services: [sessions],
            logger: logger
        )
    }

    /// The demo's routes on `engine`, for tests and for ``make(configuration:logger:metrics:)``.
    ///
    /// - Parameters:
    ///   - engine: The session engine.
    ///   - metrics: The metrics `GET /metrics` serves, or `nil` for no such route.
    public static func router(engine: SessionEngine, metrics: DemoMetrics? = nil) -> Router<Context> {
        let router = Router(context: Context.self)
        // A route is wrapped in the middleware added before it, so the probes,
        // registered first, never reach the session middleware: `/healthz`
        // answers while the store is down.
        for probe in DemoRoutes.probes(metrics: metrics) {
            router.get(RouterPath(probe.path)) { _, _ -> Response in
                response(probe.respond())
            }
        }
        router.add(middleware: SessionKitMiddleware(engine: engine))
        // Sets context.identity to the user the session is bound to; the demo's names are its users.
        router.add(middleware: SessionKitAuthenticator(context: Context.self) { (name: String, _) in DemoUser(name: name) })
        for route in DemoRoutes.all {
            add(route, to: router, engine: engine)
        }
        return router
    }

    private static func add(_ route: DemoRoute, to router: Router<Context>, engine: SessionEngine) {
        guard let method = HTTPRequest.Method(route.method) else { preconditionFailure("invalid method \(route.method)") }
        router.on(RouterPath(route.path), method: method) { request, context -> Response in
            var body: [UInt8] = []
            if route.readsBody {
                do {
                    body = Array(try await request.body.collect(upTo: DemoRoutes.maximumBodySize).readableBytesView)
                } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
                    return response(.bodyTooLarge)
                }
            }
            var parameters: [String: String] = [:]
            for name in route.parameterNames {
                parameters[name] = context.parameters.get(name)
            }
            // Sign-in and sign-out go through SessionKitHummingbirdAuth's helpers on the context.
            let auth = DemoAuthentication(user: context.identity, login: { context.login($0.name) }, logout: { context.logout() })
            let demoRequest = DemoRequest(session: context.session, engine: engine, auth: auth, parameters: parameters, body: body)
            return response(await route.handle(demoRequest))
        }
    }

    private static func response(_ demo: DemoResponse) -> Response {
        var headers = HTTPFields()
        for header in demo.headers {
            guard let name = HTTPField.Name(header.name) else { continue }
            headers.append(HTTPField(name: name, value: header.value))
        }
        return Response(
            status: HTTPResponse.Status(code: demo.status),
            headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: demo.body))
        )
    }
}
