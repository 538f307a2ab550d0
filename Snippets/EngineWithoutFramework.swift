// snippet.hide
import Foundation
// snippet.show
import SessionKit

// snippet.request
let engine = try SessionEngine(store: try MemoryStore())

/// One request through the engine; `header` returns a request header's first value by name.
func handle(
    method: String,
    path: String,
    header: (String) -> String?,
    body: [UInt8]
) async throws -> (status: Int, headers: [(name: String, value: String)], body: String) {
    // Load. No cookie, or one the store does not know: an empty session, and nothing is written.
    let session: RequestSession
    do {
        session = try await engine.load(cookieHeader: header("Cookie"))
    } catch let error as SessionStoreError {
        return (error.response.status, error.response.headers, error.response.body)  // 503 naming the store
    }
    // CSRF for unsafe methods: the origin check, then the token. Refused: 403, and nothing runs or is written.
    let csrf = engine.csrfRequest(method: method, path: path, host: header("Host"), header: header)
    if let refusal = engine.checkCSRF(csrf, session: session, formBody: body) {
        let response = refusal.response(acceptHeaders: header("Accept").map { [$0] } ?? [])
        return (response.status, response.headers, response.body)
    }
    // The app's code, then one commit: the Set-Cookie, Vary and Cache-Control headers to send.
    let count = session.increment("count")
    let result = try await engine.commit(session)
    return (200, result.headers, "\(count)")
}
// snippet.end

// snippet.hide
/// Stands in for an app's own table of sessions.
struct SessionRow {
    var userID: String
    var createdAt: Date
    var expiresAt: Date
}
/// Stands in for the app's database.
struct Database {
    func insertSession(key: String, userID: String, createdAt: Date, expiresAt: Date) async throws {}
    func session(key: String) async throws -> SessionRow? { nil }
    func deleteSession(key: String) async throws {}
    func updateExpiry(key: String, to date: Date) async throws {}
}
let db = Database()
let cookieHeader: String? = nil

// snippet.show
// snippet.primitives
let policy = SessionExpiryPolicy(idleTimeout: .seconds(30 * 60), absoluteTimeout: .seconds(7 * 24 * 60 * 60))
let cookie = SessionCookieConfiguration()  // __Host-sessionkit: Secure, HttpOnly, SameSite=Lax, Path=/

// Sign-in: keep the key (the token's SHA-256), never the token, and send the token in the cookie.
let issued = policy.issueToken(now: Date())
try await db.insertSession(key: issued.key.hex, userID: "alice", createdAt: issued.createdAt, expiresAt: issued.expiresAt)
let setCookie = cookie.sessionCookie(value: issued.token.cookieValue, expiresAt: issued.expiresAt, now: Date())

// Every later request: parse the cookie, look the key up, slide the expiry.
// A repeated cookie (.repeated) or a malformed token (nil) is no session.
if case .single(let value) = CookieHeader.lookup(cookie.effectiveName, in: cookieHeader ?? ""),
    let token = SessionToken(value),
    let row = try await db.session(key: token.key.hex)
{
    switch policy.validate(expiresAt: row.expiresAt, createdAt: row.createdAt, now: Date()) {
    case .expired: try await db.deleteSession(key: token.key.hex)  // and send cookie.expiredSessionCookie()
    case .valid: break
    case .extended(let newExpiry): try await db.updateExpiry(key: token.key.hex, to: newExpiry)
    }
}
// snippet.end
// snippet.hide
_ = setCookie
