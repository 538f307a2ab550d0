import Foundation

/// Reads cookies from a `Cookie` request header, leniently, as RFC 6265 §5.4 browsers write it.
///
/// The header is split on `;`; each piece is trimmed of spaces and tabs and split
/// on its first `=` into a name and a value, which are trimmed again. Pieces
/// without `=` or with an empty name are skipped, and a value wrapped in double
/// quotes loses the quotes. Parsing runs in one pass, linear in the header's
/// length, and accepts any text: control characters, non-ASCII and very long
/// headers are read, never rejected.
///
/// It does not validate names or values (the engine checks the session token
/// itself), decode percent-escapes, merge duplicate names, or read `Set-Cookie`
/// attributes. Results are slices of the header: nothing is copied.
///
/// ```swift
/// let header = "theme=dark; __Host-sessionkit=abc; lang=\"en\""
/// CookieHeader.parse(header)                       // [("theme", "dark"), ("__Host-sessionkit", "abc"), ("lang", "en")]
/// CookieHeader.lookup("__Host-sessionkit", in: header)   // .single("abc")
/// ```
public enum CookieHeader {
    /// The outcome of looking up one cookie by name.
    public enum Lookup: Sendable, Equatable {
        /// No cookie has the name.
        case absent
        /// Exactly one cookie has the name; this is its value, without surrounding quotes.
        case single(Substring)
        /// More than one cookie has the name.
        ///
        /// A browser sends two cookies of one name when a sibling subdomain or a
        /// more specific path has set a second one: cookie tossing. The server cannot
        /// tell which is genuine, so the engine treats this as no session at all.
        case repeated
    }

    /// The most pairs ``parse(_:)`` returns: 3,000, the bound Go's `net/http`
    /// applies since CVE-2025-58186 (browsers keep at most about 180 cookies a
    /// domain), so a header of many tiny pairs cannot make a large array.
    /// ``lookup(_:in:)`` makes no array and reads the whole header, so a
    /// repeated cookie past the bound is still noticed.
    public static let maximumPairCount = 3000

    /// Splits a `Cookie` header into its name-value pairs, in order, at most ``maximumPairCount``.
    ///
    /// Duplicate names are all kept. Pieces without `=` and pieces with an empty
    /// name are skipped; an empty value is kept. Pairs past the first
    /// ``maximumPairCount`` are left out.
    ///
    /// - Parameter header: The header's value, or several `Cookie` header values joined with `"; "`.
    /// - Returns: The pairs as slices of `header`, trimmed of spaces and tabs, with
    ///   one pair of surrounding double quotes removed from each value.
    public static func parse(_ header: some StringProtocol) -> [(name: Substring, value: Substring)] {
        var pairs: [(name: Substring, value: Substring)] = []
        forEachPair(in: CookieSyntax.substring(header)) { _, nameRange, text, valueIndices in
            let utf8 = text.utf8
            let name = utf8.index(utf8.startIndex, offsetBy: nameRange.lowerBound)..<utf8.index(utf8.startIndex, offsetBy: nameRange.upperBound)
            pairs.append((name: text[name], value: text[valueIndices()]))
            return pairs.count < maximumPairCount
        }
        return pairs
    }

    /// Finds the cookie called `name`, and notices when there is more than one.
    ///
    /// Names are compared byte for byte: `Session` does not find `session`, and
    /// the `__Host-` prefix is part of the name.
    ///
    /// - Parameters:
    ///   - name: The exact cookie name, for example ``SessionCookieConfiguration/effectiveName``.
    ///   - header: The `Cookie` header's value; pass several header lines joined with `"; "`
    ///     so that a duplicate in a second line is noticed.
    /// - Returns: ``Lookup/absent``, ``Lookup/single(_:)`` with the unquoted value,
    ///   or ``Lookup/repeated`` when the name occurs more than once.
    public static func lookup(_ name: String, in header: some StringProtocol) -> Lookup {
        var name = name
        return name.withUTF8 { name in
            var result = Lookup.absent
            forEachPair(in: CookieSyntax.substring(header)) { bytes, nameRange, text, valueIndices in
                // Names are compared on the header's bytes: no slice is made for the other cookies.
                guard nameRange.count == name.count,
                    memcmp(bytes.baseAddress! + nameRange.lowerBound, name.baseAddress!, name.count) == 0
                else { return true }
                guard case .absent = result else {
                    result = .repeated
                    return false
                }
                result = .single(text[valueIndices()])
                return true
            }
            return result
        }
    }

    /// Calls `body` with each pair in `text` until it returns `false`: the
    /// header's bytes, the name's byte range in them, `text`, and a function
    /// that gives the value's range as indices of `text` (made only when asked).
    ///
    /// Every byte is looked at a bounded number of times: once to find the end of
    /// its piece, once to find the `=`, and at most once more while trimming.
    /// Only the ASCII bytes `;`, `=`, `"`, space and tab are compared, and those
    /// are always whole Unicode scalars in UTF-8, so every slice starts and ends on
    /// a scalar boundary whatever the surrounding bytes are. The scan runs on the
    /// string's contiguous UTF-8 storage with integer offsets; a string without
    /// such storage (bridged from elsewhere) is copied into a native one first.
    private static func forEachPair(
        in text: Substring,
        _ body: (UnsafeBufferPointer<UInt8>, Range<Int>, Substring, () -> Range<String.Index>) -> Bool
    ) {
        let utf8 = text.utf8
        let scanned: Void? = utf8.withContiguousStorageIfAvailable { bytes in
            func index(_ offset: Int) -> String.Index { utf8.index(utf8.startIndex, offsetBy: offset) }
            let end = bytes.count
            var pieceStart = 0
            while pieceStart < end {
                var pieceEnd = pieceStart
                var equals: Int?
                while pieceEnd < end, bytes[pieceEnd] != UInt8(ascii: ";") {
                    if equals == nil, bytes[pieceEnd] == UInt8(ascii: "=") { equals = pieceEnd }
                    pieceEnd += 1
                }
                if let equals {
                    let name = trimmed(pieceStart..<equals, in: bytes)
                    if !name.isEmpty {
                        let value = unquoted(trimmed((equals + 1)..<pieceEnd, in: bytes), in: bytes)
                        guard body(bytes, name, text, { index(value.lowerBound)..<index(value.upperBound) }) else { return }
                    }
                }
                pieceStart = pieceEnd + 1
            }
        }
        if scanned == nil {
            forEachPair(in: Substring(String(text)), body)
        }
    }

    /// Removes leading and trailing optional whitespace (space and horizontal tab).
    private static func trimmed(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while start < end, isWhitespace(bytes[end - 1]) { end -= 1 }
        return start..<end
    }

    /// Removes one pair of surrounding double quotes, as RFC 6265's `cookie-value` grammar allows.
    private static func unquoted(_ range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let quote = UInt8(ascii: "\"")
        // A lone `"` is both the first and the last byte: it is a value, not a pair of quotes.
        guard range.count >= 2, bytes[range.lowerBound] == quote, bytes[range.upperBound - 1] == quote else { return range }
        return (range.lowerBound + 1)..<(range.upperBound - 1)
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
