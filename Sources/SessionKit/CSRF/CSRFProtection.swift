import Foundation

/// An origin `scheme://host[:port]`, lowercased, with the scheme's default port dropped.
struct CSRFOrigin: Hashable, Sendable {
    /// `http` or `https`.
    var scheme: String
    /// Lowercased; an IPv6 literal keeps its brackets.
    var host: String
    /// `nil` for none or the scheme's default port.
    var port: Int?

    /// Parses `scheme://host[:port]` (RFC 6454's serialization, as browsers send
    /// it in `Origin`), case-insensitively. `nil` for any other scheme, a path,
    /// query, fragment, userinfo, space or backslash, a bad port, or a byte
    /// outside ASCII (browsers send internationalized hosts in punycode).
    /// Works on the bytes: no copies but the host.
    init?(parsing text: some StringProtocol) {
        var text = String(text)
        guard let origin = text.withUTF8({ Self.parse($0) }) else { return nil }
        self = origin
    }

    private init(scheme: String, authority: (host: String, port: Int?)) {
        self.scheme = scheme
        self.host = authority.host
        self.port = authority.port == Self.defaultPort(of: scheme) ? nil : authority.port
    }

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> CSRFOrigin? {
        var separator = 0
        while separator + 2 < bytes.count,
            !(bytes[separator] == UInt8(ascii: ":") && bytes[separator + 1] == UInt8(ascii: "/") && bytes[separator + 2] == UInt8(ascii: "/"))
        {
            separator += 1
        }
        guard separator + 2 < bytes.count else { return nil }
        let schemeBytes = UnsafeBufferPointer(rebasing: bytes[..<separator])
        let scheme: String
        if Self.equalsIgnoringCase(schemeBytes, "http") {
            scheme = "http"
        } else if Self.equalsIgnoringCase(schemeBytes, "https") {
            scheme = "https"
        } else {
            return nil
        }
        guard let authority = Self.authority(UnsafeBufferPointer(rebasing: bytes[(separator + 3)...])) else { return nil }
        return CSRFOrigin(scheme: scheme, authority: authority)
    }

    /// `host[:port]` or `[ipv6][:port]`, the host lowercased; `nil` when empty,
    /// not ASCII, or holding `/ ? # @`, a space or a backslash, or a port outside 1–65535.
    static func authority(_ bytes: UnsafeBufferPointer<UInt8>) -> (host: String, port: Int?)? {
        guard !bytes.isEmpty else { return nil }
        for byte in bytes {
            switch byte {
            case 0x80..., UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "@"), UInt8(ascii: " "), UInt8(ascii: "\\"):
                return nil
            default: continue
            }
        }
        var hostEnd = bytes.count
        var port: Int?
        if bytes[0] == UInt8(ascii: "[") {
            // An IPv6 literal: the port, if any, follows the closing bracket.
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            hostEnd = close + 1
            if hostEnd < bytes.count {
                guard bytes[hostEnd] == UInt8(ascii: ":"), let number = Self.port(bytes[(hostEnd + 1)...]) else { return nil }
                port = number
            }
        } else if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
            guard let number = Self.port(bytes[(colon + 1)...]) else { return nil }
            port = number
            hostEnd = colon
        }
        guard hostEnd > 0 else { return nil }
        let host = String(unsafeUninitializedCapacity: hostEnd) { output in
            for index in 0..<hostEnd {
                let byte = bytes[index]
                output[index] = (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
            }
            return hostEnd
        }
        return (host, port)
    }

    /// Whether the `Host` header names this origin's host and port (the scheme's
    /// default port written out or left out alike).
    func isHost(_ header: String) -> Bool {
        var header = header
        guard let authority = header.withUTF8({ Self.authority($0) }) else { return false }
        let port = authority.port == Self.defaultPort(of: scheme) ? nil : authority.port
        return authority.host == host && port == self.port
    }

    private static func port(_ digits: Slice<UnsafeBufferPointer<UInt8>>) -> Int? {
        guard !digits.isEmpty, digits.count <= 5 else { return nil }
        var number = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            number = number * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return (1...65535).contains(number) ? number : nil
    }

    private static func defaultPort(of scheme: String) -> Int {
        scheme == "https" ? 443 : 80
    }

    private static func equalsIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        lowercase.withUTF8Buffer { expected in
            bytes.count == expected.count && zip(bytes, expected).allSatisfy { $0 | 0x20 == $1 }
        }
    }

    var authority: String { port.map { "\(host):\($0)" } ?? host }
    var serialized: String { "\(scheme)://\(authority)" }
}

/// The CSRF check itself: origin layer, then token layer.
struct CSRFProtection: Sendable {
    let configuration: CSRFConfiguration
    let trustedOrigins: Set<CSRFOrigin>

    init(configuration: CSRFConfiguration) {
        self.configuration = configuration
        self.trustedOrigins = Set(configuration.trustedOrigins.compactMap { CSRFOrigin(parsing: $0) })
    }

    /// Whether the request is checked at all.
    func applies(to request: CSRFRequest) -> Bool {
        guard configuration.mode != .disabled, !request.isSafeMethod else { return false }
        if isExcluded(request.path) { return false }
        if let ignore = configuration.ignore, ignore(request) { return false }
        return true
    }

    /// Whether the adapter should read the body to find the form field.
    func needsFormBody(_ request: CSRFRequest) -> Bool {
        guard configuration.mode == .originAndToken, applies(to: request), request.headerToken == nil,
            let contentType = request.contentType
        else { return false }
        return FormToken.isForm(contentType)
    }

    func isExcluded(_ path: String) -> Bool {
        configuration.excludedPaths.contains { pattern in
            if pattern.hasSuffix("*") { return path.hasPrefix(pattern.dropLast()) }
            return path == pattern
        }
    }

    func checkOrigin(_ request: CSRFRequest) -> CSRFError? {
        if let site = request.secFetchSite {
            if site.utf8.count == 11, CookieSyntax.hasPrefixIgnoringCase(site, "same-origin") { return nil }
            if site.utf8.count == 4, CookieSyntax.hasPrefixIgnoringCase(site, "none") { return nil }
            return isTrusted(request.origin) ? nil : CSRFError(code: .crossOriginRequest)
        }
        guard let origin = request.origin else {
            // Neither header: not a modern browser's request; the token decides.
            return nil
        }
        if let parsed = CSRFOrigin(parsing: origin), let host = request.host, parsed.isHost(host) {
            return nil
        }
        return isTrusted(origin) ? nil : CSRFError(code: .crossOriginRequest)
    }

    func isTrusted(_ origin: String?) -> Bool {
        guard let origin, let parsed = CSRFOrigin(parsing: origin) else { return false }
        return trustedOrigins.contains(parsed)
    }

    /// Runs both layers; `formBody` is the body the adapter read when ``needsFormBody(_:)`` said so.
    func check(_ request: CSRFRequest, session: RequestSession, formBody: [UInt8]?) -> CSRFError? {
        guard applies(to: request) else { return nil }
        guard configuration.mode == .originAndToken else { return checkOrigin(request) }
        return verify(request, session: session, formBody: formBody)
    }

    /// Runs both layers whatever the mode, the method and the exclusions: the
    /// check a handler asks for by hand.
    func verify(_ request: CSRFRequest, session: RequestSession, formBody: [UInt8]?) -> CSRFError? {
        if let failure = checkOrigin(request) { return failure }
        let token: String?
        if let headerToken = request.headerToken {
            token = headerToken
        } else if let formBody, let contentType = request.contentType {
            token = FormToken.find(configuration.formFieldName, in: formBody, contentType: contentType)
        } else {
            token = nil
        }
        guard let token, !token.isEmpty else { return CSRFError(code: .missingToken) }
        return session.validateCSRFToken(token) ? nil : CSRFError(code: .tokenMismatch)
    }
}

/// Finds a field in an `application/x-www-form-urlencoded` or `multipart/form-data` body.
enum FormToken {
    static func isForm(_ contentType: String) -> Bool {
        let type = mediaType(contentType)
        return type == "application/x-www-form-urlencoded" || type == "multipart/form-data"
    }

    static func mediaType(_ contentType: String) -> String {
        String(contentType.split(separator: ";", maxSplits: 1).first ?? "").trimming(" \t").lowercased()
    }

    static func find(_ field: String, in body: [UInt8], contentType: String) -> String? {
        switch mediaType(contentType) {
        case "application/x-www-form-urlencoded": return urlEncoded(field, in: body)
        case "multipart/form-data": return multipart(field, in: body, contentType: contentType)
        default: return nil
        }
    }

    static func urlEncoded(_ field: String, in body: [UInt8]) -> String? {
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = percentDecoded(parts[0]), name == field else { continue }
            return parts.count > 1 ? percentDecoded(parts[1]) : ""
        }
        return nil
    }

    static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> String? {
        var output = [UInt8]()
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                output.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.endIndex, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    return nil
                }
                output.append(high << 4 | low)
                index += 2
            } else {
                output.append(byte)
            }
            index += 1
        }
        return String(validating: output, as: UTF8.self)
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    static func boundary(in contentType: String) -> String? {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let parts = parameter.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimming(" \t").lowercased() == "boundary" else { continue }
            var value = parts[1].trimming(" \t")
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty || value.utf8.count > 70 ? nil : value
        }
        return nil
    }

    /// Scans `multipart/form-data` parts for `Content-Disposition: form-data; name="<field>"`.
    static func multipart(_ field: String, in body: [UInt8], contentType: String) -> String? {
        guard let boundary = boundary(in: contentType) else { return nil }
        let delimiter = Array("--\(boundary)".utf8)
        // Each search is linear (Knuth–Morris–Pratt) and starts where the last one
        // ended, so the whole scan is O(n + m) for an n-byte body and an m-byte
        // boundary, whatever the bytes (a naive search is O(n·m) on a body built
        // to resemble the boundary).
        let delimiterSearch = ByteSearch(delimiter)
        let headersEndSearch = ByteSearch(Array("\r\n\r\n".utf8))
        let nextDelimiterSearch = ByteSearch(Array("\r\n".utf8) + delimiter)
        var searchStart = 0
        while let start = delimiterSearch.firstIndex(in: body, from: searchStart) {
            var cursor = start + delimiter.count
            // "--" after the boundary closes the body.
            if cursor + 1 < body.count, body[cursor] == UInt8(ascii: "-"), body[cursor + 1] == UInt8(ascii: "-") { return nil }
            guard let headersEnd = headersEndSearch.firstIndex(in: body, from: cursor) else { return nil }
            let headers = String(decoding: body[cursor..<headersEnd], as: UTF8.self)
            cursor = headersEnd + 4
            guard let next = nextDelimiterSearch.firstIndex(in: body, from: cursor) else { return nil }
            if partName(headers) == field {
                return String(validating: body[cursor..<next], as: UTF8.self)
            }
            searchStart = next + 2
        }
        return nil
    }

    static func partName(_ headers: String) -> String? {
        for line in headers.split(separator: "\r\n") {
            guard line.lowercased().hasPrefix("content-disposition:") else { continue }
            // Parameters are separated by ';'; `filename="..."` must not be taken for `name="..."`.
            for parameter in line.split(separator: ";").dropFirst() {
                let trimmed = parameter.trimming(" \t")
                guard trimmed.lowercased().hasPrefix("name=") else { continue }
                var value = trimmed.dropFirst(5)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
                return String(value)
            }
            return nil
        }
        return nil
    }
}

/// Finds a byte string in a buffer in linear time (Knuth–Morris–Pratt): each
/// byte of the buffer is compared at most twice, amortised, whatever the bytes.
package struct ByteSearch {
    private let needle: [UInt8]
    /// `failure[i]`: the length of the longest proper prefix of `needle[0...i]`
    /// that is also its suffix.
    private let failure: [Int]

    package init(_ needle: [UInt8]) {
        self.needle = needle
        var failure = [Int](repeating: 0, count: needle.count)
        var length = 0
        for index in needle.indices.dropFirst() {
            while length > 0 && needle[index] != needle[length] { length = failure[length - 1] }
            if needle[index] == needle[length] { length += 1 }
            failure[index] = length
        }
        self.failure = failure
    }

    /// The index of the first occurrence of the needle at or after `start`, or `nil`.
    package func firstIndex(in haystack: [UInt8], from start: Int) -> Int? {
        var comparisons = 0
        return firstIndex(in: haystack, from: start, comparisons: &comparisons)
    }

    /// ``firstIndex(in:from:)``, adding the byte comparisons it made to
    /// `comparisons` (at most twice the bytes searched; the tests check that).
    package func firstIndex(in haystack: [UInt8], from start: Int, comparisons: inout Int) -> Int? {
        guard !needle.isEmpty, start >= 0, haystack.count - start >= needle.count else { return nil }
        var matched = 0
        var index = start
        while index < haystack.count {
            let byte = haystack[index]
            while matched > 0 && byte != needle[matched] {
                comparisons += 1
                matched = failure[matched - 1]
            }
            comparisons += 1
            if byte == needle[matched] { matched += 1 }
            if matched == needle.count { return index - needle.count + 1 }
            index += 1
        }
        return nil
    }
}

extension StringProtocol {
    func trimming(_ set: String) -> String {
        var slice = self[...]
        while let first = slice.first, set.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, set.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
