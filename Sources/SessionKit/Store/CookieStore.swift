public import Crypto
import Foundation

/// Keeps the whole session in the session cookie, encrypted and authenticated
/// with ChaChaPoly, so no server state is needed.
///
/// A key ring holds one or more keys with ids: the first key encrypts, every
/// key decrypts, so keys rotate without logging anyone out (put the new key
/// first, drop the old one after the absolute timeout). The cookie name and key
/// id are authenticated with the payload, so a cookie cannot be moved to another
/// name or re-labelled. A tampered, truncated, foreign or expired cookie is no
/// session. Idle and absolute expiry live inside the sealed payload.
///
/// What it does not do:
/// - Compare-and-swap: there is no server record to compare with, so when two
///   requests change the same session at once, the response that arrives last
///   wins. Use a server-side store where that matters.
/// - Revocation of one session: a copied cookie stays valid until it expires,
///   even after logout, because nothing on the server remembers it was replaced.
///   What it offers instead is a per-owner epoch (``OwnerEpoch``): bump it and
///   every older cookie of that owner stops working at once.
/// - Listing sessions: it has no owner index.
/// - Large sessions: a `Set-Cookie` line over 4,096 bytes (browsers drop those
///   silently) fails the commit with ``SessionStoreError/Code/tooLarge``.
///
/// ```swift
/// let keys = try CookieStore(keyList: ProcessInfo.processInfo.environment["SESSION_COOKIE_KEYS"] ?? "")
/// let engine = try SessionEngine(cookieStore: keys)
/// ```
public struct CookieStore: Sendable {
    /// One key of the ring: 32 bytes and a short id sent with each cookie.
    public struct Key: Sendable {
        /// The key's id: 1 to 16 letters, digits, `-` or `_`.
        public let id: String
        let key: SymmetricKey

        /// Creates a key.
        ///
        /// - Parameters:
        ///   - id: 1 to 16 letters, digits, `-` or `_`.
        ///   - bytes: Exactly 32 bytes of secret key material.
        /// - Throws: ``SessionConfigurationError`` (`SESSION_COOKIE_KEYS`) for a bad id or length.
        public init(id: String, bytes: [UInt8]) throws(SessionConfigurationError) {
            guard (1...16).contains(id.utf8.count), id.utf8.allSatisfy(CookieStore.isIDByte) else {
                throw SessionConfigurationError(
                    setting: "SESSION_COOKIE_KEYS",
                    reason: "key id '\(id)' must be 1 to 16 letters, digits, '-' or '_'"
                )
            }
            guard bytes.count == 32 else {
                throw SessionConfigurationError(
                    setting: "SESSION_COOKIE_KEYS",
                    reason: "key '\(id)' must be 32 bytes, got \(bytes.count)"
                )
            }
            self.id = id
            self.key = SymmetricKey(data: bytes)
        }

        /// Creates a key with 32 random bytes.
        ///
        /// - Parameter id: 1 to 16 letters, digits, `-` or `_`.
        public static func generate(id: String) throws(SessionConfigurationError) -> Key {
            try Key(id: id, bytes: CSRFToken.randomBytes(32))
        }

        /// The key as an entry of a key list: `id:base64url-key`.
        ///
        /// - Warning: This is the secret; keep it where you keep passwords.
        public var listEntry: String {
            "\(id):" + key.withUnsafeBytes { Base64URL.encode(Array($0)) }
        }
    }

    /// Reads an owner's current epoch from the app's own storage.
    ///
    /// A cookie session bound to an owner (``RequestSession/regenerate(owner:)``)
    /// carries the owner's epoch at that moment; when the epoch has grown since,
    /// the cookie is no session. Increment the owner's epoch in your own store to
    /// revoke every cookie of that owner at once ("log out everywhere"). It is
    /// called on every request that carries an owned session, so keep it cheap
    /// (a cached counter). A throw is a store failure: the request gets `503`.
    public typealias OwnerEpoch = @Sendable (_ owner: String) async throws -> Int64

    /// The store's name in logs and errors.
    public var name: String { "cookie" }
    /// The ring; the first key encrypts.
    public let keys: [Key]
    /// The owner epoch lookup, if the app revokes cookie sessions by owner.
    public let ownerEpoch: OwnerEpoch?

    /// Creates a store from a key ring.
    ///
    /// - Parameters:
    ///   - keys: At least one key, ids unique; the first one encrypts.
    ///   - ownerEpoch: Reads an owner's epoch, to revoke all of an owner's cookies at once.
    /// - Throws: ``SessionConfigurationError`` (`SESSION_COOKIE_KEYS`) for an empty ring or repeated ids.
    public init(keys: [Key], ownerEpoch: OwnerEpoch? = nil) throws(SessionConfigurationError) {
        guard !keys.isEmpty else {
            throw SessionConfigurationError(setting: "SESSION_COOKIE_KEYS", reason: "needs at least one key")
        }
        guard Set(keys.map(\.id)).count == keys.count else {
            throw SessionConfigurationError(setting: "SESSION_COOKIE_KEYS", reason: "key ids must be unique")
        }
        self.keys = keys
        self.ownerEpoch = ownerEpoch
    }

    /// Creates a store from a key list `id:key,id:key` (newest first), keys in base64 or base64url.
    ///
    /// - Parameters:
    ///   - keyList: The list, as in the `SESSION_COOKIE_KEYS` variable.
    ///   - ownerEpoch: Reads an owner's epoch, to revoke all of an owner's cookies at once.
    /// - Throws: ``SessionConfigurationError`` (`SESSION_COOKIE_KEYS`) naming the bad entry by its id.
    public init(keyList: String, ownerEpoch: OwnerEpoch? = nil) throws(SessionConfigurationError) {
        try self.init(keys: Self.keys(fromList: keyList), ownerEpoch: ownerEpoch)
    }

    /// The keys of a key list `id:key,id:key`, in order; shared with ``SessionPayloadEncryption``.
    static func keys(fromList keyList: String) throws(SessionConfigurationError) -> [Key] {
        var keys: [Key] = []
        for entry in keyList.split(separator: ",") {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else {
                throw SessionConfigurationError(setting: "SESSION_COOKIE_KEYS", reason: "entries must look like id:base64key")
            }
            let id = parts[0].trimmingSpaces()
            var text = parts[1].trimmingSpaces()
            // Accept standard base64 too: map it to base64url and drop the padding.
            text = String(text.map { $0 == "+" ? "-" : $0 == "/" ? "_" : $0 }.filter { $0 != "=" })
            guard let bytes = Base64URL.decode(text.utf8) else {
                throw SessionConfigurationError(setting: "SESSION_COOKIE_KEYS", reason: "key '\(id)' is not valid base64")
            }
            keys.append(try Key(id: id, bytes: bytes))
        }
        return keys
    }

    static func isIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }

    /// Seals `plaintext` with the newest key: `<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`.
    func seal(_ plaintext: [UInt8], cookieName: String) throws -> String {
        let key = keys[0]
        let box = try ChaChaPoly.seal(plaintext, using: key.key, authenticating: Self.associatedData(cookieName: cookieName, keyID: key.id))
        return key.id + "." + Base64URL.encode(box.combined)
    }

    /// Opens a cookie value; `nil` for anything this ring did not seal under this cookie name.
    func open(_ value: Substring, cookieName: String) -> [UInt8]? {
        guard let dot = value.firstIndex(of: ".") else { return nil }
        let id = value[..<dot]
        guard let key = keys.first(where: { $0.id == id }),
            let combined = Base64URL.decode(value[value.index(after: dot)...].utf8),
            // Nonce (12) and tag (16) at least: reject short input before opening.
            combined.count >= 28,
            let box = try? ChaChaPoly.SealedBox(combined: combined),
            let plaintext = try? ChaChaPoly.open(box, using: key.key, authenticating: Self.associatedData(cookieName: cookieName, keyID: key.id))
        else { return nil }
        return Array(plaintext)
    }

    static func associatedData(cookieName: String, keyID: some StringProtocol) -> [UInt8] {
        Array("sessionkit-cookie-v1|\(cookieName)|\(keyID)".utf8)
    }
}
