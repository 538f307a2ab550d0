/// How the engine protects unsafe requests (anything but GET, HEAD, OPTIONS,
/// TRACE) against cross-site request forgery.
///
/// Two layers, in order: an origin check from the browser's `Sec-Fetch-Site`
/// and `Origin` headers (as Go's `http.CrossOriginProtection` does), then a
/// synchronizer token kept in the session and sent masked. A request refused
/// by either layer gets `403` and never reaches the handler.
///
/// ```swift
/// var csrf = CSRFConfiguration()
/// csrf.trustedOrigins = ["https://admin.example.com"]
/// csrf.excludedPaths = ["/webhooks/*"]
/// let engine = try SessionEngine(store: store, configuration: .init(csrf: csrf))
/// ```
public struct CSRFConfiguration: Sendable {
    /// What the protection checks.
    public struct Mode: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        /// Origin check, then the token (the default).
        public static let originAndToken = Mode(name: "origin-and-token")
        /// Origin check only, no token: for JSON APIs whose clients are browsers
        /// that send `Sec-Fetch-Site` or `Origin` (Go 1.25's approach).
        ///
        /// - Warning: Requests without either header (old browsers, non-browser
        ///   clients) pass unchecked in this mode.
        public static let originOnly = Mode(name: "origin-only")
        /// No CSRF protection at all.
        ///
        /// - Warning: Only for apps whose unsafe routes cannot be reached by a
        ///   browser with ambient cookies; any cookie-authenticated form or API
        ///   becomes forgeable.
        public static let disabled = Mode(name: "disabled")

        /// The mode's name.
        public var description: String { name }
    }

    /// What is checked. Default ``Mode/originAndToken``.
    public var mode: Mode = .originAndToken
    /// The header a client sends the token in. Default `X-CSRF-Token`.
    /// `X-XSRF-TOKEN` (what Axios and Angular send) is always accepted too.
    public var headerName: String = "X-CSRF-Token"
    /// The form field of an `application/x-www-form-urlencoded` or
    /// `multipart/form-data` body that carries the token. Default `_token`.
    public var formFieldName: String = "_token"
    /// The readable cookie a browser front end copies into `X-XSRF-TOKEN`. Default `XSRF-TOKEN`.
    public var cookieName: String = "XSRF-TOKEN"
    /// Origins allowed to make cross-origin unsafe requests, as full origins
    /// `scheme://host[:port]` compared exactly (an `http://` origin never
    /// matches an `https://` entry).
    ///
    /// Wildcards such as Django's `https://*.example.com` are refused at start-up
    /// rather than kept as a literal that never matches: a wildcard trusts every
    /// subdomain, including ones that serve user content or can be taken over.
    /// List each origin.
    public var trustedOrigins: [String] = []
    /// Paths that skip the check, exact or with a trailing `*` (`/webhooks/*`).
    public var excludedPaths: [String] = []
    /// A predicate that skips the check for a request when it returns `true`.
    public var ignore: (@Sendable (CSRFRequest) -> Bool)?
    /// The most body bytes read to find the form field. Default 1 MiB.
    public var maximumFormBodySize: Int = 1 << 20

    /// Creates the default configuration: origin check and token, nothing excluded.
    public init() {}

    /// Checks every setting.
    ///
    /// - Throws: ``SessionConfigurationError`` naming `csrf.trustedOrigins`,
    ///   `csrf.headerName`, `csrf.formFieldName`, `csrf.cookieName`,
    ///   `csrf.excludedPaths` or `csrf.maximumFormBodySize`.
    public func validate() throws(SessionConfigurationError) {
        for origin in trustedOrigins where origin.utf8.contains(UInt8(ascii: "*")) {
            throw SessionConfigurationError(
                setting: "csrf.trustedOrigins",
                reason: "'\(origin)' contains a wildcard; trusted origins are compared exactly and wildcards are not supported "
                    + "(a wildcard would trust every subdomain, including any that serves user content): list each origin"
            )
        }
        for origin in trustedOrigins where CSRFOrigin(parsing: origin) == nil {
            throw SessionConfigurationError(
                setting: "csrf.trustedOrigins",
                reason: "'\(origin)' is not a full origin scheme://host[:port] (http or https, no path, no trailing slash)"
            )
        }
        guard CookieSyntax.isToken(headerName) else {
            throw SessionConfigurationError(setting: "csrf.headerName", reason: "'\(headerName)' is not a valid header name")
        }
        guard !formFieldName.isEmpty else {
            throw SessionConfigurationError(setting: "csrf.formFieldName", reason: "must not be empty")
        }
        guard CookieSyntax.isToken(cookieName) else {
            throw SessionConfigurationError(setting: "csrf.cookieName", reason: "'\(cookieName)' is not a valid cookie name")
        }
        for path in excludedPaths where !path.hasPrefix("/") {
            throw SessionConfigurationError(setting: "csrf.excludedPaths", reason: "'\(path)' must start with '/'")
        }
        guard maximumFormBodySize > 0 else {
            throw SessionConfigurationError(setting: "csrf.maximumFormBodySize", reason: "must be positive")
        }
    }

    /// Parses a comma-separated list of origins, as in a `CSRF_TRUSTED_ORIGINS` variable.
    ///
    /// - Parameter list: Origins separated by commas; spaces are trimmed, empty entries skipped.
    /// - Returns: The origins, to assign to ``trustedOrigins`` (then ``validate()``).
    public static func origins(fromList list: String) -> [String] {
        list.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty }
    }
}

/// What the CSRF check needs from an HTTP request; adapters fill it in.
public struct CSRFRequest: Sendable {
    /// The method, for example `POST`.
    public var method: String
    /// The path, without the query.
    public var path: String
    /// The `Host` header (or HTTP/2 `:authority`).
    public var host: String?
    /// The `Origin` header.
    public var origin: String?
    /// The `Sec-Fetch-Site` header.
    public var secFetchSite: String?
    /// The token from the configured header, or else from `X-XSRF-TOKEN`.
    public var headerToken: String?
    /// The `Content-Type` header.
    public var contentType: String?

    /// Creates a request description.
    ///
    /// - Parameters:
    ///   - method: The method.
    ///   - path: The path, without the query.
    ///   - host: The `Host` header.
    ///   - origin: The `Origin` header.
    ///   - secFetchSite: The `Sec-Fetch-Site` header.
    ///   - headerToken: The token from the CSRF header.
    ///   - contentType: The `Content-Type` header.
    public init(
        method: String,
        path: String,
        host: String? = nil,
        origin: String? = nil,
        secFetchSite: String? = nil,
        headerToken: String? = nil,
        contentType: String? = nil
    ) {
        self.method = method
        self.path = path
        self.host = host
        self.origin = origin
        self.secFetchSite = secFetchSite
        self.headerToken = headerToken
        self.contentType = contentType
    }

    /// Whether the method is safe (GET, HEAD, OPTIONS, TRACE) and so never checked.
    public var isSafeMethod: Bool { Self.isSafe(method: method) }

    /// Whether `method` is safe (GET, HEAD, OPTIONS, TRACE, in any letter case).
    ///
    /// - Parameter method: The request method.
    public static func isSafe(method: String) -> Bool {
        switch method {
        // The spellings every client sends, compared without making a new string.
        case "GET", "HEAD", "OPTIONS", "TRACE": return true
        case "POST", "PUT", "PATCH", "DELETE": return false
        default:
            switch method.uppercased() {
            case "GET", "HEAD", "OPTIONS", "TRACE": return true
            default: return false
            }
        }
    }
}

/// Why a request was refused by the CSRF protection. Adapters answer it with `403`.
public struct CSRFError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The reason.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: String

        /// The request carried no token in the header or the form field.
        public static let missingToken = Code(base: "missingToken")
        /// The token did not match the session's secret (or the session has none).
        public static let tokenMismatch = Code(base: "tokenMismatch")
        /// The browser said the request came from another site, and its origin is not trusted.
        public static let crossOriginRequest = Code(base: "crossOriginRequest")
        /// The form body was larger than ``CSRFConfiguration/maximumFormBodySize``.
        public static let formTooLarge = Code(base: "formTooLarge")

        /// The code's name.
        public var description: String { base }
    }

    /// The reason.
    public var code: Code

    /// Creates an error.
    ///
    /// - Parameter code: The reason.
    public init(code: Code) {
        self.code = code
    }

    /// The short text sent in the response body, for example `CSRF token mismatch`.
    public var message: String {
        switch code {
        case .missingToken: return "missing CSRF token"
        case .tokenMismatch: return "CSRF token mismatch"
        case .crossOriginRequest: return "cross-origin request refused"
        case .formTooLarge: return "form body too large to check the CSRF token"
        default: return "CSRF check failed"
        }
    }

    /// The HTTP status to answer with: 403, or 413 for ``Code/formTooLarge``.
    public var status: Int { code == .formTooLarge ? 413 : 403 }

    /// The ``message``.
    public var description: String { message }
}

extension Substring {
    func trimmingSpaces() -> String {
        var slice = self[...]
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
