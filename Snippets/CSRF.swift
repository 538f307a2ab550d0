// snippet.hide
#if Hummingbird
import Foundation
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
#endif
