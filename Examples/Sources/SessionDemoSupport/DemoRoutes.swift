/// The demo's routes: a JSON API under `/api` and a small HTML site, the same
/// for `session-demo` (Hummingbird) and `session-demo-vapor`.
///
/// | Route | Answer |
/// | --- | --- |
/// | `GET /api/me` | `{"user": <name or null>}`, the user the framework's authenticator found; reading never starts a session |
/// | `GET /api/csrf` | `{"token": "<masked token>"}`; starts the session |
/// | `POST /api/login` | `{"user": "<1 to 64 characters>"}` → `{"ok": true}`; signs in through the framework's authentication (a new token, bound to the user) and flashes a welcome |
/// | `POST /api/logout` | `{"ok": true}`; signs out, which invalidates the session |
/// | `GET /api/flash` | `{"success": <the flash or null>}` |
/// | `GET`, `POST /api/counter` | `{"count": n}`; `POST` adds one |
/// | `PUT`, `GET /api/values/{key}` | stores any JSON value under `values.{key}`, reads it back as `{"value": ...}` |
/// | `GET /api/sessions` | the user's sessions: `{"sessions": [{"handle", "current", "createdAt", "lastSeenAt", "userAgent"}]}` |
/// | `DELETE /api/sessions/{handle}` | `{"ok": true}` (the current handle signs this device out), or `404` |
/// | `POST /api/sessions/revoke-others` | `{"ok": true, "revoked": n}`: signs out everywhere else |
/// | `GET /` and `POST /login`, `/logout`, `/counter` | the HTML page and its forms (303 back to `/`) |
/// | `GET /sessions` and `POST /sessions/revoke`, `/sessions/revoke-others` | "Your sessions" and its forms (303 back to `/sessions`) |
/// | `GET /healthz`, `GET /metrics` | `200 ok`; Prometheus text with `METRICS=prometheus`. Outside the session middleware: see ``probes(metrics:)`` |
///
/// Bad JSON is `400 {"error": "..."}`; a body over ``maximumBodySize`` is `413`.
/// Without a signed-in user the session routes answer `401` (the pages redirect
/// to `/`); on the cookie store, which keeps no list of sessions, `501`; when the
/// store fails, `503`.
public enum DemoRoutes {
    /// The largest body a route reads.
    public static let maximumBodySize = 64 * 1024

    /// Every route, JSON first.
    public static var all: [DemoRoute] { json + sessionsJSON + html + sessionsHTML }

    /// Values from `/api/values/{key}` live in their own namespace, so a client cannot overwrite the demo's own keys.
    ///
    /// - Parameter key: The key from the path.
    /// - Returns: The session key, `values.<key>`.
    public static func valueKey(_ key: String) -> String { "values." + key }

}
