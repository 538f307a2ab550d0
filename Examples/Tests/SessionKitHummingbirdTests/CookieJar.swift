import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import SessionKit

/// A browser's cookie store, just enough for driving the middleware through
/// Hummingbird's test client.
///
/// It keeps `name=value` from each `Set-Cookie` line, drops a cookie whose line
/// says `Max-Age=0` (or less) or has an empty value, and sends what it holds back
/// as one `Cookie` header in the order the cookies were first set. It ignores
/// every other attribute (`Secure`, `Path`, `Domain`, `Expires`), which is what
/// the tests want: Hummingbird's test client speaks plain HTTP to `localhost`.
struct CookieJar: Sendable {
    private var cookies: [(name: String, value: String)] = []

    /// An empty jar.
    init() {}

    /// The cookie's value, if the jar holds it.
    subscript(name: String) -> String? {
        cookies.first { $0.name == name }?.value
    }

    /// Every cookie name held, in the order first set.
    var names: [String] { cookies.map(\.name) }

    /// The `Cookie` header to send, or `nil` when the jar is empty.
    var cookieHeader: String? {
        cookies.isEmpty ? nil : cookies.map { "\($0.name)=\($0.value)" }.joined(separator: "; ")
    }

    /// Sets a cookie by hand, as an attacker or a stale browser would.
    mutating func set(_ name: String, _ value: String) {
        if let index = cookies.firstIndex(where: { $0.name == name }) {
            cookies[index].value = value
        } else {
            cookies.append((name: name, value: value))
        }
    }

    /// Takes in every `Set-Cookie` line of a response.
    mutating func receive(_ response: TestResponse) {
        for line in response.headers[values: .setCookie] {
            guard let cookie = SetCookieLine(line) else { continue }
            if cookie.isRemoval {
                cookies.removeAll { $0.name == cookie.name }
            } else {
                set(cookie.name, cookie.value)
            }
        }
    }
}

/// The parts of one `Set-Cookie` header value that the tests look at.
struct SetCookieLine: Sendable, Equatable {
    var name: String
    var value: String
    /// The attributes after the first `;`, trimmed, as written.
    var attributes: [String]

    init?(_ line: String) {
        let parts = line.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingSpaces() }
        guard let first = parts.first, let equals = first.firstIndex(of: "=") else { return nil }
        name = String(first[..<equals])
        value = String(first[first.index(after: equals)...])
        attributes = Array(parts.dropFirst())
        guard !name.isEmpty else { return nil }
    }

    /// Whether the line tells the browser to delete the cookie.
    var isRemoval: Bool {
        if value.isEmpty { return true }
        return attributes.contains { attribute in
            let pieces = attribute.split(separator: "=", maxSplits: 1)
            guard pieces.count == 2, pieces[0].lowercased() == "max-age", let seconds = Int(pieces[1]) else { return false }
            return seconds <= 0
        }
    }
}

extension TestResponse {
    /// Every `Set-Cookie` line, parsed.
    var setCookies: [SetCookieLine] {
        headers[values: .setCookie].compactMap(SetCookieLine.init)
    }

    /// The body as UTF-8 text.
    var text: String { String(buffer: body) }

    /// The body parsed as JSON.
    func json() throws -> SessionValue {
        try SessionValue(jsonText: text)
    }
}

extension TestClientProtocol {
    /// Sends a request with the jar's cookies and stores the cookies the response sets.
    ///
    /// - Parameters:
    ///   - uri: The path and query.
    ///   - method: The method.
    ///   - jar: The cookie jar, read before and updated after the request.
    ///   - headers: Extra headers; a `Cookie` header here replaces the jar's.
    ///   - body: The body text, if any.
    @discardableResult
    func execute(
        _ uri: String,
        method: HTTPRequest.Method,
        jar: inout CookieJar,
        headers: HTTPFields = [:],
        body: String? = nil
    ) async throws -> TestResponse {
        var headers = headers
        if headers[.cookie] == nil, let cookieHeader = jar.cookieHeader {
            headers[.cookie] = cookieHeader
        }
        let response = try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        jar.receive(response)
        return response
    }
}

extension HTTPField.Name {
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
    static let xsrfToken = HTTPField.Name("X-XSRF-TOKEN")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}

extension HTTPFields {
    /// Headers with a CSRF token in `X-CSRF-Token`, and a JSON content type.
    static func json(token: String?) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.csrfToken] = token }
        return headers
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var slice = self
        while slice.first == " " || slice.first == "\t" { slice = slice.dropFirst() }
        while slice.last == " " || slice.last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}

/// The default secure configuration's session cookie name.
let sessionCookieName = "__Host-sessionkit"
/// The CSRF companion cookie's name.
let xsrfCookieName = "XSRF-TOKEN"
