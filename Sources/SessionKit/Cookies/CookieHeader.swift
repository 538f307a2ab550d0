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

    /// Splits a `Cookie` header into its name-value pairs, in order.
    ///
    /// Duplicate names are all kept. Pieces without `=` and pieces with an empty
    /// name are skipped; an empty value is kept.
    ///
    /// - Parameter header: The header's value, or several `Cookie` header values joined with `"; "`.
    /// - Returns: The pairs as slices of `header`, trimmed of spaces and tabs, with
    ///   one pair of surrounding double quotes removed from each value.
    public static func parse(_ header: some StringProtocol) -> [(name: Substring, value: Substring)] {
        var pairs: [(name: Substring, value: Substring)] = []
        forEachPair(in: CookieSyntax.substring(header)) { name, value in
            pairs.append((name: name, value: value))
            return true
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
        var result = Lookup.absent
        forEachPair(in: CookieSyntax.substring(header)) { candidate, value in
            guard candidate.utf8.elementsEqual(name.utf8) else { return true }
            guard case .absent = result else {
                result = .repeated
                return false
            }
            result = .single(value)
            return true
        }
        return result
    }

    /// Calls `body` with each pair in `text` until it returns `false`.
    ///
    /// Every byte is looked at a bounded number of times: once to find the end of
    /// its piece, once to find the `=`, and at most once more while trimming.
    /// Only the ASCII bytes `;`, `=`, `"`, space and tab are compared, and those
    /// are always whole Unicode scalars in UTF-8, so every slice starts and ends on
    /// a scalar boundary whatever the surrounding bytes are.
    private static func forEachPair(in text: Substring, _ body: (Substring, Substring) -> Bool) {
        let bytes = text.utf8
        let end = bytes.endIndex
        var pieceStart = bytes.startIndex
        while pieceStart < end {
            let pieceEnd = bytes[pieceStart...].firstIndex(of: UInt8(ascii: ";")) ?? end
            if let equals = bytes[pieceStart..<pieceEnd].firstIndex(of: UInt8(ascii: "=")) {
                let name = trimmed(pieceStart..<equals, in: bytes)
                if !name.isEmpty {
                    let value = unquoted(trimmed(bytes.index(after: equals)..<pieceEnd, in: bytes), in: bytes)
                    guard body(text[name], text[value]) else { return }
                }
            }
            guard pieceEnd < end else { return }
            pieceStart = bytes.index(after: pieceEnd)
        }
    }

    /// Removes leading and trailing optional whitespace (space and horizontal tab).
    private static func trimmed(_ range: Range<String.Index>, in bytes: Substring.UTF8View) -> Range<String.Index> {
        var start = range.lowerBound
        var end = range.upperBound
        while start < end, isWhitespace(bytes[start]) {
            start = bytes.index(after: start)
        }
        while start < end {
            let last = bytes.index(before: end)
            guard isWhitespace(bytes[last]) else { break }
            end = last
        }
        return start..<end
    }

    /// Removes one pair of surrounding double quotes, as RFC 6265's `cookie-value` grammar allows.
    private static func unquoted(_ range: Range<String.Index>, in bytes: Substring.UTF8View) -> Range<String.Index> {
        let quote = UInt8(ascii: "\"")
        guard range.lowerBound < range.upperBound, bytes[range.lowerBound] == quote else { return range }
        let afterOpening = bytes.index(after: range.lowerBound)
        let last = bytes.index(before: range.upperBound)
        // A lone `"` is both the first and the last byte: it is a value, not a pair of quotes.
        guard afterOpening <= last, bytes[last] == quote else { return range }
        return afterOpening..<last
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
