// A Hummingbird app that signs in through HummingbirdAuth (SessionKitHummingbirdAuth): log in,
// a CSRF-protected POST, read it back as the identity the authenticator found.
import Foundation
import Hummingbird
import HummingbirdAuth
import SessionKitHummingbirdAuth
import STORE_MODULE

typealias Context = BasicSessionKitAuthRequestContext<String>
let store = STORE_EXPRESSION
let router = Router(context: Context.self)
router.add(middleware: SessionKitMiddleware(engine: try SessionEngine(store: store)))
router.add(middleware: SessionKitAuthenticator(context: Context.self) { (id: String, _) in id == "alice" ? "alice" : nil })
router.get("/csrf") { _, context in context.session.csrfToken() }
router.post("/login") { _, context in
    context.login("alice")
    return context.session.csrfToken()  // login(_:) regenerates, which rotates the CSRF token
}
router.post("/note") { request, context in
    _ = try context.requireIdentity()
    context.session.put("note", .string(String(buffer: try await request.body.collect(upTo: 1024))))
    return "saved"
}
router.get("/me") { _, context in
    _ = try context.requireIdentity()  // 401 unless the authenticator found the user
    return context.session.get("note")?.stringValue ?? ""
}
let address = BindAddress.hostname("127.0.0.1", port: Int(CommandLine.arguments[1])!)
let app = Application(router: router, configuration: .init(address: address), services: [SessionStoreService(run: store.run)])
try await app.runService()
