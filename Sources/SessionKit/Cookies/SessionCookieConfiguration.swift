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
        /// cap cookie lifetimes at 400 days (RFC 6265bis §5.6.1), so a longer
        /// duration is written as 400 days. Must be at least one second.
        case fixed(Duration)

        /// A fixed lifetime of two years (730 days), as oslo and Lucia use for their long-lived session cookie.
        ///
        /// Written as 400 days, the cap browsers apply (RFC 6265bis §5.6.1).
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
    /// already start with a prefix (`__Host-`, `__Secure-`, `__Http-` or
    /// `__Host-Http-`, in any case); otherwise it is ``name``.
    public var effectiveName: String {
        guard usesHostPrefix, isSecure, domain == nil, path == "/",
            !CookieSyntax.hasPrefixIgnoringCase(name, "__Host-"),
            !CookieSyntax.hasPrefixIgnoringCase(name, "__Secure-"),
            !CookieSyntax.hasPrefixIgnoringCase(name, "__Http-")
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
    /// - `cookie.name`: the prefixes of RFC 6265bis and its draft successor,
    ///   recognised in any letter case as browsers do: `__Secure-` requires
    ///   ``isSecure``; `__Host-` requires ``isSecure``, no ``domain`` and ``path`` `/`;
    ///   `__Http-` requires ``isSecure`` and ``isHTTPOnly``; `__Host-Http-` requires
    ///   all of those.
    /// - `cookie.path`: starts with `/`; no `;`, control or non-ASCII characters;
    ///   at most 1,024 bytes (browsers ignore a longer attribute).
    /// - `cookie.domain`: a host name (dot-separated labels of 1 to 63 letters,
    ///   digits, `-` and `_`, not starting or ending with `-`; no empty label, no
    ///   port; at most 253 bytes, after one optional leading `.`) or an IPv4
    ///   address; internationalised names in their `xn--` form. Browsers drop the
    ///   whole cookie otherwise, so sessions would silently never stick.
    /// - `cookie.lifetime`: a ``Lifetime/fixed(_:)`` duration of at least one second.
    ///   Longer than 400 days is allowed and written as 400 days.
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
        try validatePrefix(of: name, setting: "cookie.name", isHTTPOnly: isHTTPOnly)
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
    /// ``Lifetime/fixed(_:)``, and absent for ``Lifetime/browserSession``. Both are
    /// capped at 400 days, the longest browsers keep (RFC 6265bis §5.6.1), so they
    /// say what is kept and agree; `Expires` is never before 1601-01-01, the
    /// earliest date RFC 6265bis reads.
    ///
    /// - Precondition: ``name`` is an RFC 6265 token (``validate()`` checks it), and
    ///   `value` is an RFC 6265 cookie-value (visible ASCII without
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
            expiry = Expiry(until: expiresAt, now: now)
        case .browserSession:
            expiry = nil
        case .fixed(let duration):
            expiry = Expiry(until: now.addingTimeInterval(duration / .seconds(1)), now: now)
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
    /// rounding, capping and date bounds are those of ``sessionCookie(value:expiresAt:now:)``.
    ///
    /// - Precondition: `name` is an RFC 6265 token (not empty; no control
    ///   characters, spaces or separators) and `value` an RFC 6265 cookie-value,
    ///   such as base64url. Anything else could split the header or write a
    ///   nameless cookie, so it stops the process instead.
    /// - Parameters:
    ///   - name: The cookie's name; an RFC 6265 token, checked by its own configuration.
    ///   - value: The cookie's value.
    ///   - expiresAt: When the cookie should expire, or `nil` for no `Max-Age` or
    ///     `Expires` (the browser drops it when it closes).
    ///   - now: The current time, from the engine's clock.
    /// - Returns: The header's value, without the `Set-Cookie:` field name.
    public func readableCookie(name: String, value: String, expiresAt: Date?, now: Date) -> String {
        let expiry = expiresAt.map { Expiry(until: $0, now: now) }
        return header(name: name, value: value, expiry: expiry, isHTTPOnly: false)
    }

    /// The `Set-Cookie` header value that removes a companion cookie set with
    /// ``readableCookie(name:value:expiresAt:now:)``.
    ///
    /// - Precondition: `name` is an RFC 6265 token.
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

        init(maxAge: Int, expires: String) {
            self.maxAge = maxAge
            self.expires = expires
        }

        /// The attributes for a cookie kept until `expiresAt`: `Max-Age` the whole
        /// seconds left, `Expires` the date, both capped at ``longestLifetime``
        /// after `now` so they agree, and the date never before ``earliestExpires``.
        init(until expiresAt: Date, now: Date) {
            let seconds = expiresAt.timeIntervalSince(now)
            maxAge = SessionCookieConfiguration.maxAge(seconds: seconds)
            let expiresSecond: Double
            if seconds > Double(longestLifetime) {
                expiresSecond = now.timeIntervalSince1970 + Double(longestLifetime)
            } else {
                expiresSecond = expiresAt.timeIntervalSince1970
            }
            // Written as a negated comparison so that not-a-number lands on the earliest date too.
            expires = HTTPDate.format(Date(timeIntervalSince1970: !(expiresSecond >= Double(earliestExpires)) ? Double(earliestExpires) : expiresSecond))
        }
    }

    /// The longest lifetime written, in seconds: 400 days, the cap browsers apply
    /// to `Max-Age` and `Expires` (RFC 6265bis §5.6.1 and §5.6.2).
    static let longestLifetime = 400 * 86_400

    /// The earliest `Expires` written, 1601-01-01T00:00:00Z, in seconds since 1970:
    /// RFC 6265bis §5.1.1 fails to parse a cookie date with an earlier year.
    static let earliestExpires = -11_644_473_600

    /// Whole seconds, rounded down, clamped to `0...longestLifetime`; not-a-number gives 0.
    private static func maxAge(seconds: Double) -> Int {
        guard seconds > 0 else { return 0 }
        guard seconds < Double(longestLifetime) else { return longestLifetime }
        return Int(seconds.rounded(.down))
    }

    private func header(name: String, value: String, expiry: Expiry?, isHTTPOnly: Bool) -> String {
        // The engine encodes values as base64url, so a refused value is a programming
        // error; writing it anyway could add attributes (`;`) or split the header (CR LF).
        precondition(CookieSyntax.isValidCookieValue(value), "a cookie value must consist of RFC 6265 cookie-octets")
        // A name with CR LF would start a second header line, an empty one writes a
        // nameless `=value` cookie; configured names are validated at start-up, and a
        // name passed to `readableCookie` is the caller's to check.
        precondition(CookieSyntax.isToken(name), "a cookie name must be an RFC 6265 token")
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

    /// Checks the rules a name prefix sets, for a cookie with this configuration's
    /// `Secure`, `Domain` and `Path` and the given `HttpOnly`. Browsers match the
    /// prefixes in any letter case (RFC 6265bis §4.1.3).
    ///
    /// - Parameters:
    ///   - name: The cookie's name.
    ///   - setting: The setting to name in the error.
    ///   - isHTTPOnly: Whether the cookie is sent with `HttpOnly`.
    func validatePrefix(of name: String, setting: String, isHTTPOnly: Bool) throws(SessionConfigurationError) {
        let prefix: String
        let requiresHost: Bool
        let requiresHTTPOnly: Bool
        if CookieSyntax.hasPrefixIgnoringCase(name, "__Host-Http-") {
            (prefix, requiresHost, requiresHTTPOnly) = ("__Host-Http-", true, true)
        } else if CookieSyntax.hasPrefixIgnoringCase(name, "__Host-") {
            (prefix, requiresHost, requiresHTTPOnly) = ("__Host-", true, false)
        } else if CookieSyntax.hasPrefixIgnoringCase(name, "__Http-") {
            (prefix, requiresHost, requiresHTTPOnly) = ("__Http-", false, true)
        } else if CookieSyntax.hasPrefixIgnoringCase(name, "__Secure-") {
            (prefix, requiresHost, requiresHTTPOnly) = ("__Secure-", false, false)
        } else {
            return
        }
        let broken: String? =
            if !isSecure {
                "requires secure = true"
            } else if requiresHTTPOnly && !isHTTPOnly {
                setting == "cookie.name"
                    ? "requires HttpOnly (isHTTPOnly = true)"
                    : "requires HttpOnly, and this cookie is read by scripts (never HttpOnly); choose a name without it"
            } else if requiresHost && domain != nil {
                "must not have a domain (remove cookie.domain)"
            } else if requiresHost && path != "/" {
                "requires path \"/\""
            } else {
                nil
            }
        if let broken {
            throw SessionConfigurationError(setting: setting, reason: "a cookie named \(prefix)… \(broken); browsers reject it otherwise")
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
        guard path.utf8.count <= Self.maximumAttributeLength else {
            throw SessionConfigurationError(
                setting: "cookie.path",
                reason: "the cookie path is \(path.utf8.count) bytes; browsers ignore a Path over 1,024 bytes (RFC 6265bis §5.6)"
            )
        }
    }

    /// The longest `Path` or `Domain` value browsers accept (RFC 6265bis §5.6).
    static let maximumAttributeLength = 1024

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
        if let broken = Self.hostNameProblem(domain) {
            throw SessionConfigurationError(setting: "cookie.domain", reason: broken + "; browsers drop a cookie whose Domain they cannot match")
        }
    }

    /// Why `domain` (ASCII, without `;`, spaces or controls) is not a host name or
    /// an IPv4 address, or `nil` when it is one. One leading `.` is allowed and
    /// ignored, as RFC 6265 §5.2.3 does.
    static func hostNameProblem(_ domain: String) -> String? {
        let bytes = Array(domain.utf8)
        guard bytes.count <= maximumAttributeLength else {
            return "the cookie domain is \(bytes.count) bytes; browsers ignore a Domain over 1,024 bytes (RFC 6265bis §5.6)"
        }
        let host = bytes.first == UInt8(ascii: ".") ? bytes.dropFirst() : bytes[...]
        let isLabelByte = { (byte: UInt8) in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                return true
            default:
                return false
            }
        }
        if let refused = CookieSyntax.firstRefusedByte(in: String(decoding: host, as: UTF8.self), allowing: isLabelByte) {
            return "the cookie domain contains \(refused) (after any leading dot); it must be a host name of letters, digits, '-' and '_' "
                + "in dot-separated labels, or an IPv4 address (no port, no IPv6 literal)"
        }
        let labels = host.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        if labels.contains(where: \.isEmpty) {
            return "the cookie domain has an empty label (two dots in a row, a trailing dot or only a dot); it must be a host name such as example.com"
        }
        guard host.count <= 253 else {
            return "the cookie domain is \(host.count) bytes; a host name is at most 253"
        }
        if labels.contains(where: { $0.count > 63 }) {
            return "a label of the cookie domain is longer than 63 bytes, the most a host name's label may be"
        }
        if labels.contains(where: { $0.first == UInt8(ascii: "-") || $0.last == UInt8(ascii: "-") }) {
            return "a label of the cookie domain starts or ends with a hyphen, which a host name's label may not"
        }
        let isDigits = { (label: ArraySlice<UInt8>) in label.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
        // A host whose last label is a number is an IPv4 address to a browser (the
        // WHATWG URL host parser), so it must be a whole, valid one.
        if let last = labels.last, isDigits(last) {
            let isIPv4 =
                labels.count == 4
                && labels.allSatisfy { label in
                    isDigits(label) && label.count <= 3 && (label.count == 1 || label.first != UInt8(ascii: "0"))
                        && Int(String(decoding: label, as: UTF8.self)).map { $0 <= 255 } == true
                }
            if !isIPv4 {
                return "the cookie domain ends in a number but is not an IPv4 address (four numbers 0 to 255 without leading zeros)"
            }
        }
        return nil
    }
}
