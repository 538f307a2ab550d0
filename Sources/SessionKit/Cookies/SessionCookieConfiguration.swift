public import Foundation

/// The session cookie's name, scope, security attributes and lifetime, and the
/// `Set-Cookie` header values built from them.
///
/// The defaults are the safe choice for a site served over HTTPS from one host:
/// `__Host-sessionkit`, `Path=/`, no `Domain`, `Secure`, `HttpOnly`,
/// `SameSite=Lax`, kept by the browser as long as the session lives. The
/// `__Host-` prefix makes browsers refuse the cookie unless it is `Secure`,
/// host-only and for `/`, so a sibling subdomain or a plain-HTTP page cannot
/// plant a session cookie of the same name.
///
/// The configuration builds header values; it does not parse requests (see
/// ``CookieHeader``), decide when a cookie is set or cleared (the engine does),
/// or sign, encrypt or encode the value: it writes the value it is given, which
/// must already consist of cookie-octets (the engine sends base64url).
/// Call ``validate()`` at start-up; serialization assumes a valid configuration.
///
/// ```swift
/// let cookie = SessionCookieConfiguration(sameSite: .strict, lifetime: .browserSession)
/// try cookie.validate()
/// cookie.effectiveName   // "__Host-sessionkit"
/// cookie.sessionCookie(value: token.cookieValue, expiresAt: expiry, now: clock.now())
/// // "__Host-sessionkit=…; Path=/; Secure; HttpOnly; SameSite=Strict"
/// ```
public struct SessionCookieConfiguration: Sendable, Hashable {
    /// The `SameSite` attribute: when a browser sends the cookie with requests started by other sites.
    public enum SameSite: String, Sendable, Hashable {
        /// Only with requests started by this site; following a link from another site arrives logged out.
        case strict = "Strict"
        /// With requests started by this site and with top-level navigations (links) from other sites.
        ///
        /// Cross-site form posts, frames and fetches go without the cookie.
        case lax = "Lax"
        /// With every request, including cross-site ones; browsers require `Secure`.
        ///
        /// - Warning: Every cross-site request, including forms that other sites
        ///   post to yours, carries the session. Only CSRF tokens stand between
        ///   those requests and the user's account; keep CSRF protection on.
        case none = "None"
    }

    /// How long the browser keeps the session cookie.
    public enum Lifetime: Sendable, Hashable {
        /// `Max-Age` and `Expires` follow the session's expiry, so the cookie goes when the session does.
        case followsSession
        /// No `Max-Age` or `Expires`: the browser drops the cookie when it closes, whatever the session's expiry.
        ///
        /// Browsers that restore the previous session on start may keep such
        /// cookies; the server-side timeouts still apply.
        case browserSession
        /// `Max-Age` is this duration and `Expires` is now plus it, whatever the session's expiry.
        ///
        /// For frameworks that cannot set a cookie on every response: the cookie
        /// outlives any idle timeout and the server-side expiry decides. Browsers
        /// cap cookie lifetimes (Chrome at 400 days, RFC 6265bis §5.5), so a longer
        /// duration is kept for the cap. Must be at least one second.
        case fixed(Duration)

        /// A fixed lifetime of two years (730 days), as oslo and Lucia use for their long-lived session cookie.
        ///
        /// Browsers shorten it to their cap, 400 days in Chrome.
        public static var twoYears: Lifetime { .fixed(.seconds(730 * 86_400)) }
    }

    /// The cookie's name before any prefix; an RFC 6265 token. Defaults to `sessionkit`.
    ///
    /// The name that is sent is ``effectiveName``.
    public var name: String
    /// The `Path` attribute: the URL path prefix the browser sends the cookie to. Defaults to `/`.
    public var path: String
    /// The `Domain` attribute, or `nil` (the default) for a host-only cookie.
    ///
    /// With a domain, the browser also sends the cookie to every subdomain, and
    /// those subdomains can set a cookie of the same name; the `__Host-` prefix
    /// is then unavailable.
    public var domain: String?
    /// Whether the cookie carries `Secure`, so browsers send it over HTTPS only. Defaults to `true`.
    ///
    /// - Warning: With `false` the session id travels in clear text over plain
    ///   HTTP, where anyone on the network can read it and take over the session,
    ///   and the `__Host-` prefix is not used. Turn it off for local development
    ///   over `http://` only.
    public var isSecure: Bool
    /// Whether the cookie carries `HttpOnly`, hiding it from JavaScript. Defaults to `true`.
    ///
    /// - Warning: With `false`, any cross-site scripting flaw can read the session
    ///   id and send it elsewhere.
    public var isHTTPOnly: Bool
    /// The `SameSite` attribute. Defaults to ``SameSite/lax``.
    ///
    /// - Warning: ``SameSite/none`` sends the session with every cross-site request;
    ///   it requires ``isSecure`` and leaves CSRF tokens as the only defence.
    public var sameSite: SameSite
    /// Whether to send the cookie as `__Host-` plus ``name`` when the cookie qualifies. Defaults to `true`.
    ///
    /// The cookie qualifies when it is ``isSecure``, has no ``domain`` and its
    /// ``path`` is `/`; browsers reject a `__Host-` cookie otherwise.
    public var usesHostPrefix: Bool
    /// How long the browser keeps the cookie. Defaults to ``Lifetime/followsSession``.
    public var lifetime: Lifetime

    /// Creates a cookie configuration; every setting has a safe default.
    ///
    /// - Parameters:
    ///   - name: The cookie name before any prefix; an RFC 6265 token.
    ///   - path: The `Path` attribute; must start with `/`.
    ///   - domain: The `Domain` attribute, or `nil` for a host-only cookie.
    ///   - isSecure: Whether to send `Secure`. See the warning on ``isSecure``.
    ///   - isHTTPOnly: Whether to send `HttpOnly`. See the warning on ``isHTTPOnly``.
    ///   - sameSite: The `SameSite` attribute. See the warning on ``SameSite/none``.
    ///   - usesHostPrefix: Whether to prefix the name with `__Host-` when the cookie qualifies.
    ///   - lifetime: How long the browser keeps the cookie.
    public init(
        name: String = "sessionkit",
        path: String = "/",
        domain: String? = nil,
        isSecure: Bool = true,
        isHTTPOnly: Bool = true,
        sameSite: SameSite = .lax,
        usesHostPrefix: Bool = true,
        lifetime: Lifetime = .followsSession
    ) {
        self.name = name
        self.path = path
        self.domain = domain
        self.isSecure = isSecure
        self.isHTTPOnly = isHTTPOnly
        self.sameSite = sameSite
        self.usesHostPrefix = usesHostPrefix
        self.lifetime = lifetime
    }

    /// The name the cookie is sent and read under.
    ///
    /// It is `__Host-` plus ``name`` when ``usesHostPrefix`` is on, the cookie is
    /// ``isSecure``, has no ``domain``, its ``path`` is `/`, and ``name`` does not
    /// already start with `__Host-` or `__Secure-`; otherwise it is ``name``.
    public var effectiveName: String {
        guard usesHostPrefix, isSecure, domain == nil, path == "/",
            !CookieSyntax.hasPrefixIgnoringCase(name, "__Host-"),
            !CookieSyntax.hasPrefixIgnoringCase(name, "__Secure-")
        else {
            return name
        }
        return "__Host-" + name
    }

    /// Checks that browsers will accept the cookie and that no setting can break the header.
    ///
    /// Call it once at start-up. The rules:
    /// - `cookie.name`: not empty, and an RFC 6265 token (ASCII letters, digits and
    ///   the punctuation RFC 9110 calls `tchar`; no spaces, control characters or
    ///   separators such as `;`, `=` and `"`).
    /// - `cookie.sameSite`: `SameSite=None` requires ``isSecure``.
    /// - `cookie.name`: a name starting with `__Host-` (in any case) requires
    ///   ``isSecure``, no ``domain`` and ``path`` `/`; one starting with `__Secure-`
    ///   requires ``isSecure``.
    /// - `cookie.path`: starts with `/`; no `;`, control or non-ASCII characters.
    /// - `cookie.domain`: not empty; no `;`, spaces, control or non-ASCII
    ///   characters (write internationalised names in their `xn--` form).
    /// - `cookie.lifetime`: a ``Lifetime/fixed(_:)`` duration of at least one second.
    ///
    /// - Throws: ``SessionConfigurationError`` naming the first broken rule's setting.
    public func validate() throws(SessionConfigurationError) {
        try validateName()
        if sameSite == .none && !isSecure {
            throw SessionConfigurationError(
                setting: "cookie.sameSite",
                reason: "SameSite=None requires secure = true (browsers reject it otherwise); use .lax or turn secure on"
            )
        }
        try validatePrefix()
        try validatePath()
        try validateDomain()
        if case .fixed(let duration) = lifetime, duration < .seconds(1) {
            throw SessionConfigurationError(
                setting: "cookie.lifetime",
                reason: "a fixed lifetime must be at least one second (Max-Age counts whole seconds and 0 deletes the cookie), got \(duration)"
            )
        }
    }

    /// The `Set-Cookie` header value that stores the session token in the browser.
    ///
    /// Attributes come in a fixed order, for example
    /// `__Host-sessionkit=abc; Path=/; Max-Age=1800; Expires=Mon, 23 Nov 2026 16:30:00 GMT; Secure; HttpOnly; SameSite=Lax`,
    /// with `Domain` after `Path` when set. `Max-Age` and `Expires` follow ``lifetime``:
    /// the session's expiry for ``Lifetime/followsSession`` (`Max-Age` is the whole
    /// seconds left, rounded down and never negative), `now` plus the duration for
    /// ``Lifetime/fixed(_:)``, and absent for ``Lifetime/browserSession``.
    ///
    /// - Precondition: `value` is an RFC 6265 cookie-value (visible ASCII without
    ///   `"`, `,`, `;` or `\`), such as base64url; anything else could inject attributes.
    /// - Parameters:
    ///   - value: The session token's cookie text.
    ///   - expiresAt: When the session expires.
    ///   - now: The current time, from the engine's clock.
    /// - Returns: The header's value, without the `Set-Cookie:` field name.
    public func sessionCookie(value: String, expiresAt: Date, now: Date) -> String {
        let expiry: Expiry?
        switch lifetime {
        case .followsSession:
            expiry = Expiry(maxAge: Self.maxAge(seconds: expiresAt.timeIntervalSince(now)), expires: HTTPDate.format(expiresAt))
        case .browserSession:
            expiry = nil
        case .fixed(let duration):
            let seconds = duration / .seconds(1)
            expiry = Expiry(maxAge: Self.maxAge(seconds: seconds), expires: HTTPDate.format(now.addingTimeInterval(seconds)))
        }
        return header(name: effectiveName, value: value, expiry: expiry, isHTTPOnly: isHTTPOnly)
    }

    /// The `Set-Cookie` header value that removes the session cookie from the browser.
    ///
    /// It has an empty value, the same `Path`, `Domain`, `Secure`, `HttpOnly` and
    /// `SameSite` as ``sessionCookie(value:expiresAt:now:)`` (a browser only replaces
    /// a cookie with matching name, path and domain), and
    /// `Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT`.
    ///
    /// - Returns: The header's value, without the `Set-Cookie:` field name.
    public func expiredSessionCookie() -> String {
        header(name: effectiveName, value: "", expiry: .expired, isHTTPOnly: isHTTPOnly)
    }

    /// The `Set-Cookie` header value for a companion cookie that scripts can read,
    /// such as the CSRF `XSRF-TOKEN` cookie.
    ///
    /// It has the session cookie's `Path`, `Domain`, `Secure` and `SameSite` but
    /// never `HttpOnly`, so that client code can copy its value into a request
    /// header. The name is used as given, without the `__Host-` prefix, because
    /// client libraries look for a fixed name. Attribute order and `Max-Age`
    /// rounding are those of ``sessionCookie(value:expiresAt:now:)``.
    ///
    /// - Precondition: `value` is an RFC 6265 cookie-value, such as base64url.
    /// - Parameters:
    ///   - name: The cookie's name; an RFC 6265 token, checked by its own configuration.
    ///   - value: The cookie's value.
    ///   - expiresAt: When the cookie should expire, or `nil` for no `Max-Age` or
    ///     `Expires` (the browser drops it when it closes).
    ///   - now: The current time, from the engine's clock.
    /// - Returns: The header's value, without the `Set-Cookie:` field name.
    public func readableCookie(name: String, value: String, expiresAt: Date?, now: Date) -> String {
        let expiry = expiresAt.map { Expiry(maxAge: Self.maxAge(seconds: $0.timeIntervalSince(now)), expires: HTTPDate.format($0)) }
        return header(name: name, value: value, expiry: expiry, isHTTPOnly: false)
    }

    /// The `Set-Cookie` header value that removes a companion cookie set with
    /// ``readableCookie(name:value:expiresAt:now:)``.
    ///
    /// - Parameter name: The cookie's name, as it was set.
    /// - Returns: The header's value, without the `Set-Cookie:` field name.
    public func expiredReadableCookie(name: String) -> String {
        header(name: name, value: "", expiry: .expired, isHTTPOnly: false)
    }
}

extension SessionCookieConfiguration {
    /// The `Max-Age` and `Expires` attributes, which are always sent together:
    /// `Max-Age` wins in current browsers, `Expires` serves old ones.
    private struct Expiry {
        var maxAge: Int
        var expires: String

        static let expired = Expiry(maxAge: 0, expires: HTTPDate.unixEpoch)
    }

    /// The largest `Max-Age` written: ten thousand years, far beyond any browser's
    /// cap, small enough that converting it to `Int` cannot trap.
    private static let largestMaxAge = 315_569_520_000

    /// Whole seconds, rounded down, clamped to `0...largestMaxAge`; not-a-number gives 0.
    private static func maxAge(seconds: Double) -> Int {
        guard seconds > 0 else { return 0 }
        guard seconds < Double(largestMaxAge) else { return largestMaxAge }
        return Int(seconds.rounded(.down))
    }

    private func header(name: String, value: String, expiry: Expiry?, isHTTPOnly: Bool) -> String {
        // The engine encodes values as base64url, so a refused value is a programming
        // error; writing it anyway could add attributes (`;`) or split the header (CR LF).
        precondition(CookieSyntax.isValidCookieValue(value), "a cookie value must consist of RFC 6265 cookie-octets")
        var text = name
        text.reserveCapacity(name.utf8.count + value.utf8.count + 128)
        text += "="
        text += value
        text += "; Path="
        text += path
        if let domain {
            text += "; Domain="
            text += domain
        }
        if let expiry {
            text += "; Max-Age="
            text += String(expiry.maxAge)
            text += "; Expires="
            text += expiry.expires
        }
        if isSecure {
            text += "; Secure"
        }
        if isHTTPOnly {
            text += "; HttpOnly"
        }
        text += "; SameSite="
        text += sameSite.rawValue
        return text
    }

    private func validateName() throws(SessionConfigurationError) {
        guard !name.isEmpty else {
            throw SessionConfigurationError(setting: "cookie.name", reason: "the cookie name must not be empty")
        }
        if let refused = CookieSyntax.firstRefusedByte(in: name, allowing: CookieSyntax.isTokenByte) {
            throw SessionConfigurationError(
                setting: "cookie.name",
                reason:
                    "the cookie name contains \(refused); a cookie name is an RFC 6265 token of ASCII letters, digits and \(CookieSyntax.tokenPunctuation)"
            )
        }
    }

    private func validatePrefix() throws(SessionConfigurationError) {
        if CookieSyntax.hasPrefixIgnoringCase(name, "__Host-") {
            let broken: String? =
                if !isSecure {
                    "requires secure = true"
                } else if domain != nil {
                    "must not have a domain (remove cookie.domain)"
                } else if path != "/" {
                    "requires path \"/\""
                } else {
                    nil
                }
            if let broken {
                throw SessionConfigurationError(
                    setting: "cookie.name",
                    reason: "a cookie named __Host-… \(broken); browsers reject it otherwise"
                )
            }
        } else if CookieSyntax.hasPrefixIgnoringCase(name, "__Secure-"), !isSecure {
            throw SessionConfigurationError(
                setting: "cookie.name",
                reason: "a cookie named __Secure-… requires secure = true; browsers reject it otherwise"
            )
        }
    }

    private func validatePath() throws(SessionConfigurationError) {
        guard path.utf8.first == UInt8(ascii: "/") else {
            throw SessionConfigurationError(setting: "cookie.path", reason: "the cookie path must start with \"/\"")
        }
        let isAllowed = { (byte: UInt8) in byte < 0x80 && !CookieSyntax.isControl(byte) && byte != UInt8(ascii: ";") }
        if let refused = CookieSyntax.firstRefusedByte(in: path, allowing: isAllowed) {
            throw SessionConfigurationError(
                setting: "cookie.path",
                reason: "the cookie path contains \(refused); percent-encode it (RFC 6265 allows no ';', control or non-ASCII characters)"
            )
        }
    }

    private func validateDomain() throws(SessionConfigurationError) {
        guard let domain else { return }
        guard !domain.isEmpty else {
            throw SessionConfigurationError(
                setting: "cookie.domain",
                reason: "the cookie domain must not be empty; leave it unset (nil) for a host-only cookie"
            )
        }
        let isAllowed = { (byte: UInt8) in
            byte < 0x80 && !CookieSyntax.isControl(byte) && byte != UInt8(ascii: ";") && byte != UInt8(ascii: " ")
        }
        if let refused = CookieSyntax.firstRefusedByte(in: domain, allowing: isAllowed) {
            throw SessionConfigurationError(
                setting: "cookie.domain",
                reason: "the cookie domain contains \(refused); write a host name such as example.com, internationalised names in their xn-- form"
            )
        }
    }
}
