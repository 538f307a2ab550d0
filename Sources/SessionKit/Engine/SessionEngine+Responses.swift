/// A response an adapter sends instead of running the handler: a CSRF refusal
/// or a store failure. Adapters copy it across; the engine decides its content.
public struct SessionErrorResponse: Sendable {
    /// The HTTP status code.
    public var status: Int
    /// The headers, in order.
    public var headers: [(name: String, value: String)]
    /// The body, UTF-8.
    public var body: String
}

extension CSRFError {
    /// The refusal: `403` (or `413`) with the ``message``, as JSON `{"error": ...}`
    /// when the client accepts JSON and as text otherwise, never cached.
    ///
    /// - Parameter acceptHeaders: The request's `Accept` header lines.
    public func response(acceptHeaders: [String]) -> SessionErrorResponse {
        let wantsJSON = acceptHeaders.contains { $0.contains("application/json") || $0.contains("+json") }
        if wantsJSON {
            return SessionErrorResponse(
                status: status,
                headers: [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")],
                body: SessionValue.object(["error": .string(message)]).jsonText
            )
        }
        return SessionErrorResponse(
            status: status,
            headers: [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
            body: message + "\n"
        )
    }
}

extension SessionStoreError {
    /// The response an adapter answers with, never cached: `503` with a short
    /// text naming the store and `Retry-After: 1`; for
    /// ``SessionStoreError/Code/sessionTooLarge`` (the request, not the store, is
    /// at fault) `413` with the reason and no `Retry-After`; for
    /// ``SessionStoreError/Code/sessionEnded``, `409 Conflict` saying the request's
    /// changes were not saved (the session was signed in, out or revoked by another
    /// request meanwhile; retrying with the cookie the client now holds is safe).
    public var response: SessionErrorResponse {
        if code == .sessionTooLarge || code == .sessionEnded {
            return SessionErrorResponse(
                status: code == .sessionTooLarge ? 413 : 409,
                headers: [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")],
                body: responseMessage + "\n"
            )
        }
        return SessionErrorResponse(
            status: 503,
            headers: [("Content-Type", "text/plain; charset=utf-8"), ("Retry-After", "1"), ("Cache-Control", "no-store")],
            body: responseMessage + "\n"
        )
    }
}

extension CookieHeader {
    /// Every Cookie header line joined as one header (HTTP/2 sends one line per cookie); `nil` for none.
    ///
    /// - Parameter lines: The request's Cookie header lines.
    public static func joined(_ lines: [String]) -> String? {
        switch lines.count {
        case 0: return nil
        case 1: return lines[0]
        default: return lines.joined(separator: "; ")
        }
    }
}

extension SessionEngine {
    /// Builds the CSRF check's view of a request from a header lookup, so every
    /// adapter reads the same headers: `Origin`, `Sec-Fetch-Site`, the configured
    /// token header or else `X-XSRF-TOKEN`, and `Content-Type`.
    ///
    /// - Parameters:
    ///   - method: The request method.
    ///   - path: The path, without the query.
    ///   - host: The `Host` header (or HTTP/2 `:authority`).
    ///   - header: Returns the first value of a header by name (case-insensitive), or `nil`.
    public func csrfRequest(method: String, path: String, host: String?, header: (String) -> String?) -> CSRFRequest {
        CSRFRequest(
            method: method,
            path: path,
            host: host,
            origin: header("Origin"),
            secFetchSite: header("Sec-Fetch-Site"),
            headerToken: header(configuration.csrf.headerName) ?? header("X-XSRF-TOKEN"),
            contentType: header("Content-Type")
        )
    }
}
