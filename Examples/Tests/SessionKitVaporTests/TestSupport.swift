import Foundation
import SessionKit
import SessionKitConformance
import SessionKitVapor
import Synchronization
import Testing
import Vapor
import VaporTesting

/// A browser's cookie store, just enough for driving the middleware through VaporTesting.
///
/// It keeps `name=value` from each `Set-Cookie` line, drops a cookie whose line
/// says `Max-Age=0` (or less) or has an empty value, and sends what it holds back
/// as one `Cookie` header in the order the cookies were first set. It ignores
/// every other attribute: the tests speak plain HTTP to `localhost`.
struct CookieJar: Sendable {
    private var cookies: [(name: String, value: String)] = []

    /// The cookie's value, if the jar holds it.
    subscript(name: String) -> String? {
        cookies.first { $0.name == name }?.value
    }

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
    mutating func receive(_ response: TestingHTTPResponse) {
        for cookie in response.setCookies {
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
        let parts = line.split(separator: ";", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
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

extension TestingHTTPResponse {
    /// Every `Set-Cookie` line, parsed.
    var setCookies: [SetCookieLine] {
        headers[.setCookie].compactMap(SetCookieLine.init)
    }

    /// The body as UTF-8 text.
    var text: String { String(buffer: body) }

    /// The body parsed as JSON.
    func json() throws -> SessionValue {
        try SessionValue(jsonText: text)
    }
}

extension TestingApplicationTester {
    /// Sends a request with the jar's cookies and stores the cookies the response sets.
    ///
    /// - Parameters:
    ///   - method: The method.
    ///   - path: The path and query.
    ///   - jar: The cookie jar, read before and updated after the request.
    ///   - headers: Extra headers; a `Cookie` header here replaces the jar's.
    ///   - body: The body text, if any.
    @discardableResult
    func send(
        _ method: HTTPMethod,
        _ path: String,
        jar: inout CookieJar,
        headers: HTTPHeaders = [:],
        body: String? = nil
    ) async throws -> TestingHTTPResponse {
        var headers = headers
        if !headers.contains(name: .cookie), let cookieHeader = jar.cookieHeader {
            headers.add(name: .cookie, value: cookieHeader)
        }
        let response = try await sendRequest(method, path, headers: headers, body: body.map { ByteBuffer(string: $0) })
        jar.receive(response)
        return response
    }
}

extension HTTPHeaders {
    /// Headers with a CSRF token in `X-CSRF-Token`, and a JSON content type.
    static func json(token: String?) -> HTTPHeaders {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if let token { headers.add(name: "X-CSRF-Token", value: token) }
        return headers
    }
}

/// The default secure configuration's session cookie name.
let sessionCookieName = "__Host-sessionkit"
/// The CSRF companion cookie's name.
let xsrfCookieName = "XSRF-TOKEN"
