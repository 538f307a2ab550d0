public import Crypto

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
        SessionKey(digest: Array(SHA256.hash(data: bytes)))
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
/// ``SessionToken``, as 64 lowercase hexadecimal characters.
///
/// Only a token can produce a key, so the raw token cannot reach a store by
/// mistake. Stores that list keys back (for example an owner index) rebuild
/// them with ``init(hex:)``.
public struct SessionKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The digest as 64 lowercase hexadecimal characters; safe to log and to use as a file name.
    public let hex: String

    init(digest: [UInt8]) {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        self.hex = String(decoding: text, as: UTF8.self)
    }

    /// Rebuilds a key from the ``hex`` text a store kept.
    ///
    /// Returns `nil` unless `hex` is exactly 64 lowercase hexadecimal characters.
    ///
    /// - Parameter hex: The stored key text.
    public init?(hex: some StringProtocol) {
        let utf8 = hex.utf8
        guard utf8.count == 64, utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            return nil
        }
        self.hex = String(hex)
    }

    /// The key's hexadecimal text.
    public var description: String { hex }

    /// Orders keys by their text.
    public static func < (lhs: SessionKey, rhs: SessionKey) -> Bool { lhs.hex < rhs.hex }
}

/// Compares two byte arrays in time that depends only on their lengths.
@inline(never)
func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}
