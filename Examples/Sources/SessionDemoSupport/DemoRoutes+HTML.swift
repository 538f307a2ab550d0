import Crypto
import Foundation
public import SessionKit

extension DemoRoutes {
    /// The HTML page and its forms; each form post answers `303` back to `/`.
    static var html: [DemoRoute] {
        [
            DemoRoute("GET", "/") { request in
                .html(page(session: request.session, user: request.auth.user))
            },
            DemoRoute("POST", "/login", readsBody: true) { request in
                let form = parseForm(request.body)
                guard let user = DemoUser(name: (form["user"] ?? "").trimmingCharacters(in: .whitespaces)) else {
                    request.session.flash("error", "Enter a name of 1 to 64 characters.")
                    return .redirect(to: "/")
                }
                // A new token, bound to the user: the session now shows in their list of sessions.
                request.auth.login(user)
                request.session.flash("success", .string("Welcome, \(user.name)"))
                return .redirect(to: "/")
            },
            DemoRoute("POST", "/logout") { request in
                request.auth.logout()
                request.session.flash("success", "You are signed out.")
                return .redirect(to: "/")
            },
            DemoRoute("POST", "/counter") { request in
                request.session.increment("count")
                return .redirect(to: "/")
            },
        ]
    }

    /// The demo's HTML page for `session`: flash messages, sign-in or sign-out, the counter.
    ///
    /// Every form carries a freshly masked CSRF token, so rendering it starts the session.
    ///
    /// - Parameters:
    ///   - session: The request's session.
    ///   - user: The signed-in user, as the framework's authenticator found it.
    /// - Returns: The page.
    public static func page(session: RequestSession, user: DemoUser?) -> String {
        // Every form carries a freshly masked token.
        let token = escape(session.csrfToken())
        var body = "<h1>SessionKit demo</h1>\n" + flashes(session: session)
        if let user {
            body += """
                <p id="user">Signed in as <strong>\(escape(user.name))</strong></p>
                <form method="post" action="/logout"><input type="hidden" name="_token" value="\(token)">\
                <button id="logout">Sign out</button></form>
                <p><a href="/sessions" id="sessions-link">Your sessions</a>: every device signed in as you</p>

                """
        } else {
            body += """
                <form method="post" action="/login" id="login-form"><input type="hidden" name="_token" value="\(token)">
                <label>Name <input name="user" id="user-input" maxlength="64" required></label> <button id="login">Sign in</button></form>

                """
        }
        let count = session.get("count")?.intValue ?? 0
        body += """
            <p>Counter: <span id="count">\(count)</span></p>
            <form method="post" action="/counter"><input type="hidden" name="_token" value="\(token)">\
            <button id="increment">Add one</button></form>
            <p><button id="increment-fetch" type="button">Add one with fetch</button> <span id="fetch-status"></span></p>
            <script>\(pageScript)</script>
            <p><small>JSON API under <code>/api</code>: me, csrf, login, logout, flash, counter, values/{key}, sessions.</small></p>

            """
        return document(title: "SessionKit demo", body: body)
    }

    /// The flash messages for this request, as paragraphs `#flash-success` and `#flash-error`.
    ///
    /// - Parameter session: The request's session; reading the flashes uses them up.
    static func flashes(session: RequestSession) -> String {
        var text = ""
        for (key, style) in [("success", "ok"), ("error", "err")] {
            if let message = session.getFlash(key)?.stringValue {
                text += "<p class=\"flash \(style)\" id=\"flash-\(key)\">\(escape(message))</p>\n"
            }
        }
        return text
    }

    /// A whole HTML document around `body`, with the demo's small style sheet.
    ///
    /// - Parameters:
    ///   - title: The document's title (plain text).
    ///   - body: The body's HTML.
    static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>\(pageStyle)</style>
        </head><body>
        \(body)</body></html>

        """
    }

    /// The fields of an `application/x-www-form-urlencoded` body; the last of a repeated name wins.
    static func parseForm(_ body: [UInt8]) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(decoding: body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]) else { continue }
            fields[name] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// `text` safe inside an HTML element or a quoted attribute.
    ///
    /// It walks Unicode scalars, not `Character`s: a combining or prepended scalar
    /// (U+0600 before `<`, say) forms one grapheme cluster with the `<`, so a
    /// `switch` over characters would never see the `<` alone and let it through.
    static func escape(_ text: String) -> String {
        var output = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output.append(contentsOf: "&amp;".unicodeScalars)
            case "<": output.append(contentsOf: "&lt;".unicodeScalars)
            case ">": output.append(contentsOf: "&gt;".unicodeScalars)
            case "\"": output.append(contentsOf: "&quot;".unicodeScalars)
            case "'": output.append(contentsOf: "&#39;".unicodeScalars)
            default: output.append(scalar)
            }
        }
        return String(output)
    }

    /// The page's one inline script: the front-end recipe, echoing the readable
    /// `XSRF-TOKEN` cookie in a header. Its SHA-256 is in ``contentSecurityPolicy``.
    static let pageScript = """
        // The front-end recipe: echo the readable XSRF-TOKEN cookie in a header.
        function xsrfToken() {
          const match = document.cookie.match(/(?:^|; )XSRF-TOKEN=([^;]*)/);
          return match ? decodeURIComponent(match[1]) : "";
        }
        document.getElementById("increment-fetch").addEventListener("click", async () => {
          const response = await fetch("/api/counter", {method: "POST", headers: {"X-CSRF-Token": xsrfToken()}});
          const status = document.getElementById("fetch-status");
          if (response.ok) {
            document.getElementById("count").textContent = (await response.json()).count;
            status.textContent = "";
          } else {
            status.textContent = response.status + " " + await response.text();
          }
        });
        """

    /// The pages' one inline style sheet. Its SHA-256 is in ``contentSecurityPolicy``.
    static let pageStyle = """
        body{font:16px system-ui;margin:2rem auto;max-width:40rem}.ok{color:#060}.err{color:#a00}\
        table{border-collapse:collapse}td,th{padding:.25rem .5rem;text-align:left;vertical-align:top}\
        tr.current{background:#eef6ee}td form{margin:0}time{white-space:nowrap}td.device{word-break:break-word}
        """

    /// The pages' `Content-Security-Policy`: nothing but the page's own inline
    /// script and style (by hash), requests and forms to this origin only. A
    /// script that slipped past ``escape(_:)`` would not run.
    static let contentSecurityPolicy: String = {
        func hash(_ text: String) -> String { Data(SHA256.hash(data: Data(text.utf8))).base64EncodedString() }
        return "default-src 'none'; script-src 'sha256-\(hash(pageScript))'; style-src 'sha256-\(hash(pageStyle))'; "
            + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    }()
}
