public import SessionKit

/// One route of the demo, written once for both demos.
///
/// A demo registers every route of ``DemoRoutes/all`` with its framework,
/// reads the body when ``readsBody`` says so (at most
/// ``DemoRoutes/maximumBodySize`` bytes; more is answered with
/// ``DemoResponse/bodyTooLarge``), awaits ``handle`` and writes the
/// ``DemoResponse`` back. So both demos serve the same routes with the same
/// statuses and bodies by construction; only that translation is theirs.
public struct DemoRoute: Sendable {
    /// The method, for example `POST`.
    public var method: String
    /// The path, with `:name` segments for parameters, as both routers write them: `/api/values/:key`.
    public var path: String
    /// Whether the handler needs the request body.
    public var readsBody: Bool
    /// Answers the request; it never throws, because each route words its own failures.
    public var handle: @Sendable (DemoRequest) async -> DemoResponse

    /// Creates a route.
    ///
    /// - Parameters:
    ///   - method: The method.
    ///   - path: The path with `:name` parameters.
    ///   - readsBody: Whether the handler needs the body.
    ///   - handle: Answers the request.
    public init(
        _ method: String,
        _ path: String,
        readsBody: Bool = false,
        handle: @escaping @Sendable (DemoRequest) async -> DemoResponse
    ) {
        self.method = method
        self.path = path
        self.readsBody = readsBody
        self.handle = handle
    }

    /// The names of the path's parameters, without the `:`.
    public var parameterNames: [String] {
        path.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) }
    }
}

/// What a demo route needs from a request.
public struct DemoRequest: Sendable {
    /// The request's session, from the framework's SessionKit middleware.
    public var session: RequestSession
    /// The engine behind the middleware, for what reaches beyond this request's
    /// session: listing and revoking the signed-in user's other sessions.
    public var engine: SessionEngine
    /// The signed-in user and sign-in and sign-out, through the framework's authenticator.
    public var auth: DemoAuthentication
    /// The path parameters by name.
    public var parameters: [String: String]
    /// The body, when the route reads it; otherwise empty.
    public var body: [UInt8]

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - session: The request's session.
    ///   - engine: The engine that loaded `session`.
    ///   - auth: The framework's authentication for this request.
    ///   - parameters: The path parameters.
    ///   - body: The body bytes.
    public init(
        session: RequestSession,
        engine: SessionEngine,
        auth: DemoAuthentication,
        parameters: [String: String] = [:],
        body: [UInt8] = []
    ) {
        self.session = session
        self.engine = engine
        self.auth = auth
        self.parameters = parameters
        self.body = body
    }
}

/// A demo route's answer, written back by each demo's framework.
public struct DemoResponse: Sendable {
    /// The status code.
    public var status: Int
    /// The headers, in order.
    public var headers: [(name: String, value: String)]
    /// The body text (UTF-8).
    public var body: String

    /// Creates a response.
    ///
    /// - Parameters:
    ///   - status: The status code.
    ///   - headers: The headers.
    ///   - body: The body text.
    public init(status: Int, headers: [(name: String, value: String)] = [], body: String = "") {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON object, `application/json; charset=utf-8`.
    ///
    /// - Parameters:
    ///   - object: The object's members.
    ///   - status: The status code. Default 200.
    public static func json(_ object: [String: SessionValue], status: Int = 200) -> DemoResponse {
        DemoResponse(
            status: status,
            headers: [(name: "Content-Type", value: "application/json; charset=utf-8")],
            body: SessionValue.object(object).jsonText
        )
    }

    /// An HTML page that no cache keeps, under the pages' `Content-Security-Policy`.
    ///
    /// - Parameters:
    ///   - text: The page.
    ///   - status: The status code. Default 200.
    public static func html(_ text: String, status: Int = 200) -> DemoResponse {
        DemoResponse(
            status: status,
            headers: [
                (name: "Content-Type", value: "text/html; charset=utf-8"),
                (name: "Cache-Control", value: "no-store"),
                (name: "Content-Security-Policy", value: DemoRoutes.contentSecurityPolicy),
            ],
            body: text
        )
    }

    /// `303 See Other` to `location`, the answer to a form post.
    ///
    /// - Parameter location: Where the browser goes next.
    public static func redirect(to location: String) -> DemoResponse {
        DemoResponse(status: 303, headers: [(name: "Location", value: location)])
    }

    /// `413`: the body is larger than ``DemoRoutes/maximumBodySize``.
    public static var bodyTooLarge: DemoResponse {
        json(["error": .string("request body larger than \(DemoRoutes.maximumBodySize) bytes")], status: 413)
    }
}
