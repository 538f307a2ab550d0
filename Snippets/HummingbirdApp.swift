// snippet.hide
#if Hummingbird
import Foundation
// snippet.show
import Hummingbird
import SessionKitHummingbird

// snippet.context
/// The app's request context: any context works once it has a `session`.
struct AppContext: SessionKitRequestContext {
    var coreContext: CoreRequestContextStorage
    var session = RequestSession()
    init(source: Source) { coreContext = .init(source: source) }
}
// snippet.end

// snippet.engine
var configuration = SessionEngine.Configuration()
configuration.expiry.idleTimeout = .seconds(60 * 60)  // signed out after an hour without a request
// The store survives a restart (see "Choosing a store"); the service runs its expiry sweeps.
let sessions = try await SessionKitService(.file(directory: "sessions"), configuration: configuration)  // throws on a bad setting

let router = Router(context: AppContext.self)
router.add(middleware: sessions.middleware())
// snippet.end

// snippet.form
/// An HTML page as a response.
struct HTML: ResponseGenerator {
    let text: String
    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

struct Profile: Decodable { let displayName: String }

router.get("/profile") { _, context in
    let saved = context.session.getFlash("status")?.stringValue ?? ""
    // A fresh masked token per page; it is base64url, safe in HTML as it is.
    return HTML(
        text: """
            <p>\(saved)</p>
            <form method="post" action="/profile">
              <input type="hidden" name="_token" value="\(context.session.csrfToken())">
              <input name="displayName"> <button>Save</button>
            </form>
            """
    )
}
router.post("/profile") { request, context in
    // The middleware has already checked _token; the handler still reads the whole body.
    let profile = try await URLEncodedFormDecoder().decode(Profile.self, from: request, context: context)
    context.session.put("displayName", .string(profile.displayName))
    context.session.flash("status", "Saved.")  // shown by the next request only
    return Response(status: .seeOther, headers: [.location: "/profile"])
}
// snippet.end

// snippet.logout
router.post("/logout") { _, context in
    context.session.invalidate()  // the data is gone and the old cookie stops working
    return Response(status: .seeOther, headers: [.location: "/"])
}
// snippet.end

// snippet.app
let app = Application(
    router: router,
    configuration: .init(address: .hostname("127.0.0.1", port: 8080)),
    services: [sessions]  // the store's work, ended by graceful shutdown
)
// snippet.hide
// Compiled by `swift build`, never run: the server starts only with SESSIONKIT_SNIPPET_SERVE set.
guard ProcessInfo.processInfo.environment["SESSIONKIT_SNIPPET_SERVE"] != nil else { exit(0) }
// snippet.show
try await app.runService()
// snippet.end
// snippet.hide
#endif
