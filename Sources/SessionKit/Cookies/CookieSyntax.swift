/// The character rules of RFC 6265 §4.1.1 for the parts of a `Set-Cookie` header.
///
/// Serialization relies on these checks to keep a header value from growing extra
/// attributes (`;`) or splitting into a second header (CR, LF). The rules are the
/// server's strict ones; the lenient reading of request headers lives in ``CookieHeader``.
enum CookieSyntax {
    /// The characters a token may hold besides ASCII letters and digits (RFC 9110 §5.6.2 `tchar`).
    static let tokenPunctuation = "!#$%&'*+-.^_`|~"

    /// Returns whether `text` is an RFC 6265 `cookie-name`: a non-empty RFC 9110 token.
    ///
    /// A token has no control characters, spaces, separators such as `;`, `=` or `"`,
    /// and no non-ASCII characters.
    ///
    /// - Parameter text: The candidate cookie name.
    static func isToken(_ text: some StringProtocol) -> Bool {
        let bytes = text.utf8
        return !bytes.isEmpty && bytes.allSatisfy(isTokenByte)
    }

    /// Returns whether `byte` may appear in a token.
    ///
    /// - Parameter byte: One byte of UTF-8 text.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// Returns whether `text` is an RFC 6265 `cookie-value`.
    ///
    /// That is zero or more `cookie-octet`s (visible ASCII except `"`, `,`, `;` and `\`),
    /// optionally wrapped in one pair of double quotes. The empty value is valid.
    ///
    /// - Parameter text: The candidate cookie value.
    static func isValidCookieValue(_ text: some StringProtocol) -> Bool {
        var bytes = substring(text).utf8[...]
        let quote = UInt8(ascii: "\"")
        if bytes.count >= 2, bytes.first == quote, bytes.last == quote {
            bytes = bytes.dropFirst().dropLast()
        }
        return bytes.allSatisfy(isCookieOctet)
    }

    /// Returns whether `byte` is an RFC 6265 `cookie-octet`.
    ///
    /// - Parameter byte: One byte of UTF-8 text.
    static func isCookieOctet(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x23...0x2B, 0x2D...0x3A, 0x3C...0x5B, 0x5D...0x7E:
            return true
        default:
            return false
        }
    }

    /// Returns whether `byte` is a control character (0x00-0x1F or 0x7F).
    ///
    /// - Parameter byte: One byte of UTF-8 text.
    static func isControl(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F
    }

    /// Returns whether `text` starts with `prefix`, comparing ASCII letters without regard to case.
    ///
    /// Browsers recognise the `__Host-` and `__Secure-` prefixes case-insensitively
    /// (RFC 6265bis §4.1.3), so `__host-id` must obey the same rules as `__Host-id`.
    ///
    /// - Parameters:
    ///   - text: The text to look at.
    ///   - prefix: The ASCII prefix to look for.
    static func hasPrefixIgnoringCase(_ text: some StringProtocol, _ prefix: String) -> Bool {
        var textBytes = text.utf8.makeIterator()
        for expected in prefix.utf8 {
            guard let byte = textBytes.next(), lowercased(byte) == lowercased(expected) else { return false }
        }
        return true
    }

    /// Describes the first byte of `text` that `isAllowed` refuses, for an error message.
    ///
    /// The description names the byte's offset and value rather than quoting the text,
    /// so a control character in a setting cannot break a log line.
    ///
    /// - Parameters:
    ///   - text: The text that failed a check.
    ///   - isAllowed: The rule each byte must pass.
    /// - Returns: For example `"byte 0x3B (';') at offset 4"`, or `nil` when every byte passes.
    static func firstRefusedByte(in text: some StringProtocol, allowing isAllowed: (UInt8) -> Bool) -> String? {
        for (offset, byte) in text.utf8.enumerated() where !isAllowed(byte) {
            let hex = String(byte, radix: 16, uppercase: true)
            let code = "0x" + (hex.count == 1 ? "0" + hex : hex)
            if byte == 0x20 {
                return "a space at offset \(offset)"
            } else if isControl(byte) {
                return "control character \(code) at offset \(offset)"
            } else if byte >= 0x80 {
                return "non-ASCII byte \(code) at offset \(offset)"
            } else {
                return "'\(Character(Unicode.Scalar(byte)))' at offset \(offset)"
            }
        }
        return nil
    }

    /// Returns `text` as a `Substring` without copying when it is a `String` or a `Substring` already.
    ///
    /// - Parameter text: Any string.
    static func substring(_ text: some StringProtocol) -> Substring {
        if let text = text as? Substring { return text }
        if let text = text as? String { return text[...] }
        return Substring(String(text))
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}
