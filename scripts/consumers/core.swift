// The engine without a framework: what an app that names only the `SessionKit` product
// can do. Two requests, then a CSRF-protected write, with cookies carried by hand.
import SessionKit

let engine = try SessionEngine(store: MemoryStore())
func request(_ method: String, cookie: String?, token: String? = nil, _ handler: (RequestSession) -> Void) async throws -> (cookie: String?, refused: CSRFError?) {
    let session = try await engine.load(cookieHeader: cookie)
    let csrf = CSRFRequest(method: method, path: "/", host: "127.0.0.1", origin: "http://127.0.0.1", headerToken: token)
    if let refusal = engine.checkCSRF(csrf, session: session, formBody: nil) { return (cookie, refusal) }
    handler(session)
    let result = try await engine.commit(session)
    let set = result.setCookies.first { $0.hasPrefix(engine.configuration.cookie.effectiveName + "=") }
    return (set.map { String($0.prefix { $0 != ";" }) } ?? cookie, nil)
}
var token = ""
let login = try await request("GET", cookie: nil) { session in session.regenerate(owner: "alice"); token = session.csrfToken() }
let forged = try await request("POST", cookie: login.cookie, token: "forged") { $0.put("note", "no") }
precondition(forged.refused != nil, "a forged token must be refused")
let write = try await request("POST", cookie: login.cookie, token: token) { $0.put("note", "hello") }
precondition(write.refused == nil, "the real token must pass")
_ = try await request("GET", cookie: write.cookie) { session in
    precondition(session.get("note") == "hello", "the note must read back"); print("core: ok")
}
