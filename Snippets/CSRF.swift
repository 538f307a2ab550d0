// snippet.hide
#if Hummingbird
import Foundation
import HTTPTypes
import Hummingbird
import SessionKitHummingbird

func configurations() throws {
    // snippet.show
    // snippet.configuration
    var configuration = SessionEngine.Configuration()
    // Another origin of yours may post, with the token; compared exactly, scheme and port included.
    configuration.csrf.trustedOrigins = ["https://admin.example.com"]
    // Webhooks come from other servers, with no cookie and no token: skip the check for their paths.
    configuration.csrf.excludedPaths = ["/webhooks/*"]
    // Or decide per request.
    configuration.csrf.ignore = { request in request.path.hasPrefix("/public-api/") }
    let engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
    // snippet.end
    // snippet.hide
    _ = engine
}

func originOnly() throws {
    // snippet.show
    // snippet.originOnly
    var configuration = SessionEngine.Configuration()
    configuration.csrf.mode = .originOnly  // Sec-Fetch-Site and Origin decide; no token is asked for
    let engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
    // snippet.end
    // snippet.hide
    _ = engine
}

func routes(_ router: Router<BasicSessionKitRequestContext>) {
    // snippet.show
    // snippet.tokenRoute
    // For a single-page app: the token as JSON, beside the readable XSRF-TOKEN cookie.
    router.get("/api/csrf") { _, context in
        ["token": context.session.csrfToken()]
    }
    // snippet.end

    // snippet.manual
    struct Comment: Decodable { let text: String, csrfToken: String }
    // A path in csrf.excludedPaths whose client sends the token inside its JSON body:
    router.post("/embedded/comments") { request, context in
        let comment = try await request.decode(as: Comment.self, context: context)
        guard context.session.validateCSRFToken(comment.csrfToken) else { throw HTTPError(.forbidden) }
        context.session.push("comments", .string(comment.text))
        return HTTPResponse.Status.created
    }
    // snippet.end
    // snippet.hide
}

func checkedByHand() throws {
    // snippet.show
    // snippet.checkedByHandEngine
    var configuration = SessionEngine.Configuration()
    configuration.csrf.mode = .disabled  // no automatic check: the routes that need one ask for it
    let engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
    let router = Router(context: BasicSessionKitRequestContext.self)
    router.add(middleware: SessionKitMiddleware(engine: engine))
    // snippet.end
    // snippet.hide
    routesCheckedByHand(router, engine: engine)
}

func routesCheckedByHand(_ router: Router<BasicSessionKitRequestContext>, engine: SessionEngine) {
    // snippet.show
    // snippet.checkedByHand
    router.post("/account/delete") { request, context in
        var request = request
        let csrfRequest = engine.csrfRequest(method: request.method.rawValue, path: request.uri.path, host: request.head.authority) {
            HTTPField.Name($0).flatMap { request.headers[$0] }
        }
        // A form sends the token in its _token field; the body stays readable after collectBody.
        let body = try await request.collectBody(upTo: engine.configuration.csrf.maximumFormBodySize)
        do {
            // The origin check, then the token, whatever csrf.mode and the exclusions say.
            try engine.validateCSRF(csrfRequest, session: context.session, formBody: Array(body.readableBytesView))
        } catch let error as CSRFError {
            throw HTTPError(.init(code: error.status), message: error.message)  // 403, through the app's error handling
        }
        context.session.invalidate()
        return HTTPResponse.Status.noContent
    }
    // snippet.end

    // snippet.tokenByHand
    struct Vote: Decodable { let choice: String, csrfToken: String? }
    // The token inside a JSON body, on a route the automatic check skips:
    router.post("/embedded/votes") { request, context in
        let vote = try await request.decode(as: Vote.self, context: context)
        do {
            try context.session.validateCSRF(token: vote.csrfToken)  // the token only; no origin check
        } catch let error as CSRFError {
            throw HTTPError(.init(code: error.status), message: error.message)  // "missing CSRF token" or "CSRF token mismatch"
        }
        context.session.push("votes", "\(vote.choice)")
        return HTTPResponse.Status.created
    }
    // snippet.end
    // snippet.hide
}
#endif
