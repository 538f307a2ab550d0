import Foundation
public import SessionKit

extension DemoRoutes {
    /// The signed-in user's sessions as JSON: list them, revoke one, revoke all but this one.
    ///
    /// Each answers `401 {"error": "not signed in"}` without a signed-in user,
    /// `501` on a store without an owner index (the cookie store) and `503` when
    /// the store fails.
    static var sessionsJSON: [DemoRoute] {
        [
            DemoRoute("GET", "/api/sessions") { request in
                await withOwner(of: request, answering: .json) { owner in
                    let sessions = try await request.engine.sessions(of: owner, current: request.session)
                    return .json(["sessions": .array(sessions.map(json(for:)))])
                }
            },
            DemoRoute("DELETE", "/api/sessions/:handle") { request in
                await withOwner(of: request, answering: .json) { owner in
                    switch try await revoke(request.parameters["handle"] ?? "", of: owner, request) {
                    case .revoked, .signedOut: return .json(["ok": true])
                    case .notFound: return .json(["error": "no such session"], status: 404)
                    }
                }
            },
            DemoRoute("POST", "/api/sessions/revoke-others") { request in
                await withOwner(of: request, answering: .json) { owner in
                    let revoked = try await request.engine.revokeSessions(of: owner, except: request.session)
                    return .json(["ok": true, "revoked": .int(Int64(revoked))])
                }
            },
        ]
    }

    /// The "Your sessions" page and its two forms; each form post answers `303` back to `/sessions`.
    static var sessionsHTML: [DemoRoute] {
        [
            DemoRoute("GET", "/sessions") { request in
                await withOwner(of: request, answering: .html) { owner in
                    let sessions = try await request.engine.sessions(of: owner, current: request.session)
                    return .html(sessionsPage(owner: owner, sessions: sessions, session: request.session))
                }
            },
            DemoRoute("POST", "/sessions/revoke", readsBody: true) { request in
                await withOwner(of: request, answering: .html) { owner in
                    let handle = parseForm(request.body)["handle"] ?? ""
                    switch try await revoke(handle, of: owner, request) {
                    case .revoked:
                        request.session.flash("success", "That device is signed out.")
                    case .signedOut:
                        request.session.flash("success", "You are signed out.")
                        return .redirect(to: "/")
                    case .notFound:
                        request.session.flash("error", "That session had already ended.")
                    }
                    return .redirect(to: "/sessions")
                }
            },
            DemoRoute("POST", "/sessions/revoke-others") { request in
                await withOwner(of: request, answering: .html) { owner in
                    let revoked = try await request.engine.revokeSessions(of: owner, except: request.session)
                    let noun = revoked == 1 ? "session" : "sessions"
                    request.session.flash("success", .string("Signed out \(revoked) other \(noun)."))
                    return .redirect(to: "/sessions")
                }
            },
        ]
    }

    /// The "Your sessions" page: a table of `owner`'s sessions, this one marked,
    /// a sign-out form on each other row, and "Sign out everywhere else".
    ///
    /// Stable hooks for tests: `#sessions-table`, rows `tr.session[data-handle]`
    /// (`tr.session.current` for this device), buttons `.revoke` and `#revoke-others`.
    ///
    /// - Parameters:
    ///   - owner: The signed-in user.
    ///   - sessions: The user's sessions, as the engine lists them.
    ///   - session: The request's session, for the flash messages and the CSRF token.
    /// - Returns: The page.
    public static func sessionsPage(owner: String, sessions: [SessionSummary], session: RequestSession) -> String {
        let token = escape(session.csrfToken())
        let count = sessions.count == 1 ? "1 session" : "\(sessions.count) sessions"
        var body = "<h1>Your sessions</h1>\n" + flashes(session: session)
        body += """
            <p id="sessions-summary"><strong>\(escape(owner))</strong> is signed in with \(count). \
            Signing a device out ends its session at its next request. <a href="/" id="home-link">Back to the demo</a></p>
            <table id="sessions-table">
            <thead><tr><th>Device</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead>
            <tbody>

            """
        for summary in sessions {
            let handle = escape(summary.handle)
            var device = summary.userAgent.map(escape) ?? "unknown device"
            if let address = summary.ipAddress { device += "<br><small class=\"ip\">\(escape(address))</small>" }
            let action =
                summary.isCurrent
                ? "<strong class=\"this-device\">(this device)</strong>"
                : """
                <form method="post" action="/sessions/revoke"><input type="hidden" name="_token" value="\(token)">\
                <input type="hidden" name="handle" value="\(handle)"><button class="revoke">Sign out</button></form>
                """
            body += """
                <tr class="session\(summary.isCurrent ? " current" : "")" data-handle="\(handle)">\
                <td class="device">\(device)</td><td class="created">\(time(summary.createdAt))</td>\
                <td class="last-seen">\(time(summary.lastSeenAt))</td><td>\(action)</td></tr>

                """
        }
        body += """
            </tbody></table>
            <form method="post" action="/sessions/revoke-others"><input type="hidden" name="_token" value="\(token)">\
            <p><button id="revoke-others">Sign out everywhere else</button></p></form>

            """
        return document(title: "Your sessions", body: body)
    }

    /// How a session route words a refusal or a failure.
    enum AnswerStyle {
        /// `{"error": ...}` with a status.
        case json
        /// A flash and a redirect to `/`, or a page with a status.
        case html
    }

    /// Runs `body` with the signed-in user, answering for it when there is none
    /// and when the store cannot list or revoke sessions.
    ///
    /// - Parameters:
    ///   - request: The request.
    ///   - style: JSON for the API, HTML for the pages.
    ///   - body: Answers the request for the owner; it may throw the engine's ``SessionStoreError``.
    /// - Returns: `body`'s answer; `401` (or a redirect to `/`) without an owner;
    ///   `501` when the store has no owner index; `503` when it fails.
    static func withOwner(
        of request: DemoRequest,
        answering style: AnswerStyle,
        _ body: (String) async throws -> DemoResponse
    ) async -> DemoResponse {
        // The user the framework's authenticator found from the session's owner, bound at login.
        guard let owner = request.auth.user?.name else {
            switch style {
            case .json:
                return .json(["error": "not signed in"], status: 401)
            case .html:
                request.session.flash("error", "Sign in to see your sessions.")
                return .redirect(to: "/")
            }
        }
        do {
            return try await body(owner)
        } catch let error as SessionStoreError where error.code == .unsupported {
            let message =
                "The \(error.storeName) store keeps no list of sessions, so it cannot show or sign out other devices; "
                + "run the demo with SESSION_STORE=memory or file."
            switch style {
            case .json:
                return .json(["error": .string(message)], status: 501)
            case .html:
                let body = """
                    <h1>Your sessions</h1>
                    <p class="err" id="sessions-unsupported">\(escape(message))</p>
                    <p><a href="/" id="home-link">Back to the demo</a></p>

                    """
                return .html(document(title: "Your sessions", body: body), status: 501)
            }
        } catch let error as SessionStoreError {
            // An outage is a 503 naming the store, exactly as the middleware words it; never an empty list.
            let response = error.response
            return DemoResponse(status: response.status, headers: response.headers, body: response.body)
        } catch {
            // The engine wraps every store error in a SessionStoreError, so this is a bug.
            return .json(["error": "internal error"], status: 500)
        }
    }

    /// What revoking a handle did.
    enum Revocation {
        /// Another session of the owner was revoked.
        case revoked
        /// The handle was this request's own session, which is now signed out.
        case signedOut
        /// No live session of the owner has that handle.
        case notFound
    }

    /// Revokes the owner's session with `handle`; this device's own handle signs it out.
    static func revoke(_ handle: String, of owner: String, _ request: DemoRequest) async throws -> Revocation {
        // The current session is signed out the usual way, which invalidates it: deleting
        // its record behind the back of this request, which commits it afterwards, would
        // leave the outcome to the order of the two writes.
        let sessions = try await request.engine.sessions(of: owner, current: request.session)
        if sessions.contains(where: { $0.handle == handle && $0.isCurrent }) {
            request.auth.logout()
            return .signedOut
        }
        return try await request.engine.revokeSession(handle: handle, of: owner) ? .revoked : .notFound
    }

    /// One session as the API lists it.
    static func json(for summary: SessionSummary) -> SessionValue {
        [
            "handle": .string(summary.handle),
            "current": .bool(summary.isCurrent),
            "createdAt": .string(summary.createdAt.formatted(.iso8601)),
            "lastSeenAt": .string(summary.lastSeenAt.formatted(.iso8601)),
            "userAgent": summary.userAgent.map(SessionValue.string) ?? .null,
        ]
    }

    /// A `<time>` element for `date`, in UTC.
    private static func time(_ date: Date) -> String {
        let iso = date.formatted(.iso8601)
        let shown = date.formatted(Date.ISO8601FormatStyle(dateTimeSeparator: .space, timeZone: .gmt))
        return "<time datetime=\"\(iso)\">\(shown)</time>"
    }
}
