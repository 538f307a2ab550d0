// A Hummingbird app as the README shows it: log in, a CSRF-protected POST, read it back.
import Foundation
import Hummingbird
import SessionKitHummingbird
import STORE_MODULE

let store = STORE_EXPRESSION
let router = Router(context: BasicSessionKitRequestContext.self)
router.add(middleware: SessionKitMiddleware(engine: try SessionEngine(store: store)))
router.get("/csrf") { _, context in context.session.csrfToken() }
router.post("/login") { _, context in
    context.session.regenerate(owner: "alice")
    return context.session.csrfToken()  // regenerate() rotates the CSRF token
}
router.post("/note") { request, context in
    context.session.put("note", .string(String(buffer: try await request.body.collect(upTo: 1024))))
    return "saved"
}
router.get("/me") { _, context in context.session.get("note")?.stringValue ?? "" }
let address = BindAddress.hostname("127.0.0.1", port: Int(CommandLine.arguments[1])!)
let app = Application(router: router, configuration: .init(address: address), services: [SessionStoreService(run: store.run)])
try await app.runService()
