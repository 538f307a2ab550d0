// snippet.hide
#if Hummingbird && Vapor
import Foundation
import Hummingbird
import SessionKitHummingbird
import SessionKitVapor
import Vapor

// snippet.show
// snippet.hummingbird
/// SessionKit's refusals and store failures as the app's own pages.
struct SessionErrorPages<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Hummingbird.Request,
        context: Context,
        next: (Hummingbird.Request, Context) async throws -> Hummingbird.Response
    ) async throws -> Hummingbird.Response {
        do {
            return try await next(request, context)
        } catch let error as SessionKitHTTPError {
            // error.csrfError: 403 (413 for an oversized form); error.storeError: 503.
            let page = error.csrfError != nil ? "<p>This form has expired. Please reload the page.</p>" : "<p>Please try again in a moment.</p>"
            return Hummingbird.Response(
                status: error.status,
                headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: page))
            )
        }
    }
}
// snippet.end

func hummingbirdErrors(engine: SessionEngine) {
    // snippet.hummingbirdRouter
    let router = Router(context: BasicSessionKitRequestContext.self)
    router.add(middleware: SessionErrorPages())  // before SessionKit's middleware, so it sees its errors
    router.add(middleware: SessionKitMiddleware(engine: engine))
    // snippet.end
    // snippet.hide
    _ = router
}

// snippet.show
// snippet.vapor
/// SessionKit's refusals and store failures as the app's own pages; other errors go on to Vapor's ErrorMiddleware.
struct SessionErrorPagesMiddleware: AsyncMiddleware {
    func respond(to request: Vapor.Request, chainingTo next: any AsyncResponder) async throws -> Vapor.Response {
        do {
            return try await next.respond(to: request)
        } catch let error as SessionKitVaporError {
            // error.csrfError: 403 (413 for an oversized form); error.storeError: 503.
            var headers = error.headers  // Cache-Control: no-store, and Retry-After for a store failure
            headers.contentType = .html
            let page = error.csrfError != nil ? "<p>This form has expired. Please reload the page.</p>" : "<p>Please try again in a moment.</p>"
            return Vapor.Response(status: error.status, headers: headers, body: .init(string: page))
        }
    }
}
// snippet.end

func vaporErrors(app: Vapor.Application) {
    // snippet.vaporMiddleware
    app.middleware.use(SessionErrorPagesMiddleware())  // before SessionKit's middleware, so it sees its errors
    app.middleware.use(app.sessionKit.middleware(throwsErrors: true))
    // snippet.end
    // snippet.hide
}
#endif
