import Crypto

/// Encrypts session payloads at rest, so a store's snapshot, replica or backup
/// holds no session's data: Laravel's `session.encrypt`, for every server-side store.
///
/// The engine seals each record's payload with ChaChaPoly under the first key of
/// a key ring — the ``CookieStore``'s ring and key-list format — before the store
/// sees it, and opens it after a load; the stores themselves change in nothing.
/// Every key of the ring decrypts, so keys rotate without logging anyone out: put
/// the new key first, and drop the old one once every session written with it has
/// expired (the absolute timeout) or been written again. The record's
/// ``SessionKey`` and the key id are authenticated with the payload, so a payload
/// copied under another session's key, re-labelled, truncated or changed opens to
/// nothing: that session is "no session", logged at debug, never a failure.
///
/// What it does not do:
/// - Hide what is not in the payload: the hashed key, the expiry, the version and
///   the owner the store indexes (``SessionRecord/owner``) stay readable, and the
///   record's size shows roughly how much a session holds.
/// - Protect against someone who can read the app's memory or its key list.
/// - Read records written before it was turned on, unless
///   ``acceptsPlaintextRecords`` is set for the changeover.
///
/// ```swift
/// var configuration = SessionEngine.Configuration()
/// configuration.payloadEncryption = try SessionPayloadEncryption(
///     keyList: ProcessInfo.processInfo.environment["SESSION_ENCRYPTION_KEYS"] ?? ""
/// )
/// let engine = try SessionEngine(store: store, configuration: configuration)
/// ```
public struct SessionPayloadEncryption: Sendable {
    /// The ring; the first key encrypts, every key decrypts.
    public let keys: [CookieStore.Key]
    /// Whether a record that is not encrypted (written while encryption was off)
    /// is still read, as its plain JSON. Default `false`: it is no session.
    ///
    /// Turn it on only while switching encryption on, for at most the absolute
    /// timeout: records are encrypted as they are next written.
    ///
    /// - Warning: While on, anyone who can write to the store can plant a session
    ///   of their choosing as plain JSON; encryption then keeps the data secret
    ///   but no longer proves that the engine wrote it.
    public var acceptsPlaintextRecords: Bool

    /// Creates the encryption from a key ring.
    ///
    /// - Parameters:
    ///   - keys: At least one key, ids unique; the first one encrypts.
    ///   - acceptsPlaintextRecords: Whether unencrypted records are still read.
    ///     See the warning on ``acceptsPlaintextRecords``.
    /// - Throws: ``SessionConfigurationError`` (`payloadEncryption.keys`) for an empty ring or repeated ids.
    public init(keys: [CookieStore.Key], acceptsPlaintextRecords: Bool = false) throws(SessionConfigurationError) {
        guard !keys.isEmpty else {
            throw SessionConfigurationError(setting: Self.setting, reason: "needs at least one key")
        }
        guard Set(keys.map(\.id)).count == keys.count else {
            throw SessionConfigurationError(setting: Self.setting, reason: "key ids must be unique")
        }
        self.keys = keys
        self.acceptsPlaintextRecords = acceptsPlaintextRecords
    }

    /// Creates the encryption from a key list `id:key,id:key` (newest first), keys
    /// of 32 bytes in base64 or base64url: the ``CookieStore/init(keyList:ownerEpoch:)`` format.
    ///
    /// Use keys of their own, not the cookie store's: one key for one purpose.
    ///
    /// - Parameters:
    ///   - keyList: The list, for example from a `SESSION_ENCRYPTION_KEYS` variable.
    ///   - acceptsPlaintextRecords: Whether unencrypted records are still read.
    /// - Throws: ``SessionConfigurationError`` (`payloadEncryption.keys`) naming the bad entry by its id.
    public init(keyList: String, acceptsPlaintextRecords: Bool = false) throws(SessionConfigurationError) {
        let keys: [CookieStore.Key]
        do {
            keys = try CookieStore.keys(fromList: keyList)
        } catch {
            throw SessionConfigurationError(setting: Self.setting, reason: error.reason)
        }
        try self.init(keys: keys, acceptsPlaintextRecords: acceptsPlaintextRecords)
    }

    static let setting = "payloadEncryption.keys"

    /// The first bytes of a sealed record. A JSON payload starts with `{`, never
    /// with a NUL, so a sealed record and a plain one cannot be mistaken.
    static let marker: [UInt8] = [0x00, UInt8(ascii: "S"), UInt8(ascii: "K"), UInt8(ascii: "E"), 1]

    /// Seals a payload for the record under `key`:
    /// `marker ‖ id length ‖ key id ‖ nonce ‖ ciphertext ‖ tag`.
    func seal(_ plaintext: [UInt8], under key: SessionKey) throws -> [UInt8] {
        let ringKey = keys[0]
        let box = try ChaChaPoly.seal(plaintext, using: ringKey.key, authenticating: Self.associatedData(key, keyID: ringKey.id))
        let id = Array(ringKey.id.utf8)
        var sealed = Self.marker
        sealed.reserveCapacity(Self.marker.count + 1 + id.count + box.combined.count)
        sealed.append(UInt8(id.count))
        sealed += id
        sealed += box.combined
        return sealed
    }

    /// What opening a stored record gave.
    enum Opened {
        /// The payload's bytes.
        case payload([UInt8])
        /// Nothing readable; the reason, for the debug log.
        case refused(String)
    }

    /// Opens the record stored under `key`.
    func open(_ data: [UInt8], under key: SessionKey) -> Opened {
        guard data.starts(with: Self.marker) else {
            return acceptsPlaintextRecords ? .payload(data) : .refused("record-not-encrypted")
        }
        var offset = Self.marker.count
        guard offset < data.count else { return .refused("record-truncated") }
        let idLength = Int(data[offset])
        offset += 1
        guard idLength > 0, data.count - offset >= idLength else { return .refused("record-truncated") }
        let id = data[offset..<(offset + idLength)]
        offset += idLength
        guard let ringKey = keys.first(where: { $0.id.utf8.elementsEqual(id) }) else { return .refused("unknown-encryption-key") }
        // Nonce (12) and tag (16) at least: reject short input before opening.
        guard data.count - offset >= 28,
            let box = try? ChaChaPoly.SealedBox(combined: data[offset...]),
            let plaintext = try? ChaChaPoly.open(box, using: ringKey.key, authenticating: Self.associatedData(key, keyID: ringKey.id))
        else { return .refused("record-failed-to-open") }
        return .payload(Array(plaintext))
    }

    /// The record's key and the key id, authenticated with the payload: a payload
    /// opens only under the session it was written for, and only as its own key's.
    static func associatedData(_ key: SessionKey, keyID: String) -> [UInt8] {
        Array("sessionkit-record-v1|\(key.hex)|\(keyID)".utf8)
    }
}
