public import Crypto
import Foundation

/// A session's secret bearer token: 32 bytes from the system CSPRNG, sent to the
/// client in the session cookie as 43 characters of unpadded base64url.
///
/// A token is never written to a store, a log line or an error message: stores
/// receive its ``key`` (the SHA-256 digest) instead, so a leaked store holds no
/// live session ids. The type has no revealing `description`; compare tokens
/// with `==`, which runs in constant time.
public struct SessionToken: Sendable, Hashable, CustomStringConvertible {
    /// The number of random bytes in a token.
    public static let byteCount = 32
    /// The length of a token's base64url text.
    public static let encodedLength = 43

    private let bytes: [UInt8]

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Generates a new token from the system's cryptographically secure generator.
    public static func generate() -> SessionToken {
        SessionToken(bytes: CSRFToken.randomBytes(byteCount))
    }

    /// Parses a token from its cookie text.
    ///
    /// Returns `nil` unless `text` is exactly 43 characters of canonical
    /// unpadded base64url that decode to 32 bytes.
    ///
    /// - Parameter text: The cookie value.
    public init?(_ text: some StringProtocol) {
        let utf8 = text.utf8
        guard utf8.count == Self.encodedLength, let decoded = Base64URL.decode(utf8), decoded.count == Self.byteCount else {
            return nil
        }
        self.bytes = decoded
    }

    /// The token as it is sent in a cookie: 43 characters of unpadded base64url.
    public var cookieValue: String { Base64URL.encode(bytes) }

    /// The key a store keeps this token's session under: `SHA-256(token)`.
    public var key: SessionKey {
        SessionKey(digest: SHA256.hash(data: bytes))
    }

    /// A redacted placeholder: tokens never print.
    public var description: String { "SessionToken(redacted)" }

    /// Compares two tokens in constant time.
    public static func == (lhs: SessionToken, rhs: SessionToken) -> Bool {
        constantTimeEqual(lhs.bytes, rhs.bytes)
    }

    /// Hashes the token.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(bytes)
    }
}

/// The key under which a store keeps a session: the SHA-256 digest of its
/// ``SessionToken``, written as 64 lowercase hexadecimal characters.
///
/// Only a token can produce a key, so the raw token cannot reach a store by
/// mistake. Stores that list keys back (for example an owner index) rebuild
/// them with ``init(hex:)``.
///
/// The digest is kept inline as four words: a key costs no allocation, hashes
/// 32 bytes, and compares in four steps; ``hex`` writes the text when a store
/// needs it.
public struct SessionKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The digest's bytes 0–7, 8–15, 16–23 and 24–31, each word big-endian,
    /// so comparing the words in order compares the digests (and their hex text).
    private let words: (UInt64, UInt64, UInt64, UInt64)

    init(digest: some ContiguousBytes) {
        self.words = digest.withUnsafeBytes { bytes in
            precondition(bytes.count == 32, "a session key is a 32-byte SHA-256 digest")
            return (
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
                UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
            )
        }
    }

    /// Rebuilds a key from the ``hex`` text a store kept.
    ///
    /// Returns `nil` unless `hex` is exactly 64 lowercase hexadecimal characters.
    ///
    /// - Parameter hex: The stored key text.
    public init?(hex: some StringProtocol) {
        let utf8 = hex.utf8
        guard utf8.count == 64 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = 0
        for character in utf8 {
            let nibble: UInt64
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = UInt64(character - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = UInt64(character - UInt8(ascii: "a") + 10)
            default: return nil
            }
            switch index >> 4 {
            case 0: words.0 = words.0 << 4 | nibble
            case 1: words.1 = words.1 << 4 | nibble
            case 2: words.2 = words.2 << 4 | nibble
            default: words.3 = words.3 << 4 | nibble
            }
            index += 1
        }
        self.words = words
    }

    /// The digest as 64 lowercase hexadecimal characters; safe to log and to use as a file name.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { buffer in
            let digits: StaticString = "0123456789abcdef"
            digits.withUTF8Buffer { digits in
                // Four words of 16 nibbles each, without an array of the words (stores ask for this on every call).
                for offset in 0..<64 {
                    let word: UInt64
                    switch offset >> 4 {
                    case 0: word = words.0
                    case 1: word = words.1
                    case 2: word = words.2
                    default: word = words.3
                    }
                    buffer[offset] = digits[Int(truncatingIfNeeded: word >> UInt64(60 - (offset & 15) * 4)) & 0x0F]
                }
            }
            return 64
        }
    }

    /// The key's hexadecimal text.
    public var description: String { hex }

    /// Compares two keys' digests.
    public static func == (lhs: SessionKey, rhs: SessionKey) -> Bool {
        lhs.words == rhs.words
    }

    /// Hashes the digest.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Orders keys by their digest, which is the order of their ``hex`` text.
    public static func < (lhs: SessionKey, rhs: SessionKey) -> Bool {
        (lhs.words.0, lhs.words.1, lhs.words.2, lhs.words.3) < (rhs.words.0, rhs.words.1, rhs.words.2, rhs.words.3)
    }
}

/// Compares two byte arrays in time that depends only on their lengths.
@inline(never)
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}
