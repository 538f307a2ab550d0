public import Crypto
public import Foundation
import Metrics

/// Which client details a new session records, for an owner's session list.
///
/// Both are off by default: they are personal data. Turn them on only when the
/// app shows them to the user (a "Your sessions" page) and says so in its
/// privacy notice.
public struct SessionMetadataConfiguration: Sendable, Hashable {
    /// Record the `User-Agent` header (first 256 characters). Default `false`.
    public var recordsUserAgent: Bool
    /// Record the client's IP address. Default `false`.
    public var recordsIPAddress: Bool

    /// Creates the configuration.
    ///
    /// - Parameters:
    ///   - recordsUserAgent: Record the `User-Agent` header.
    ///   - recordsIPAddress: Record the client's IP address.
    public init(recordsUserAgent: Bool = false, recordsIPAddress: Bool = false) {
        self.recordsUserAgent = recordsUserAgent
        self.recordsIPAddress = recordsIPAddress
    }
}

/// What an adapter knows about the client, for ``SessionMetadataConfiguration``.
public struct SessionClient: Sendable, Hashable {
    /// The `User-Agent` header.
    public var userAgent: String?
    /// The client's IP address as text.
    public var ipAddress: String?

    /// Creates the client details.
    ///
    /// - Parameters:
    ///   - userAgent: The `User-Agent` header.
    ///   - ipAddress: The client's IP address.
    public init(userAgent: String? = nil, ipAddress: String? = nil) {
        self.userAgent = userAgent
        self.ipAddress = ipAddress
    }
}

/// One live session of an owner, as listed by ``SessionEngine/sessions(of:current:)``.
public struct SessionSummary: Sendable, Hashable {
    /// An opaque handle for ``SessionEngine/revokeSession(handle:of:)``: derived
    /// from the hashed id, so it reveals neither the token nor the store key.
    public var handle: String
    /// Whether this is the session of the request that asked.
    public var isCurrent: Bool
    /// When the session was created (or last regenerated at login).
    public var createdAt: Date
    /// When the session was last seen, to the touch interval's precision.
    public var lastSeenAt: Date
    /// When the session expires unless used.
    public var expiresAt: Date
    /// The user agent recorded at login, when configured.
    public var userAgent: String?
    /// The IP address recorded at login, when configured.
    public var ipAddress: String?
}

extension SessionEngine {
    /// The live sessions of `owner`, newest first; one store round trip or a bounded few.
    ///
    /// - Parameters:
    ///   - owner: The owner id given to ``RequestSession/regenerate(owner:)``.
    ///   - current: The asking request's session, marked ``SessionSummary/isCurrent``.
    /// - Throws: ``SessionStoreError`` when the store fails or has no owner index
    ///   (code ``SessionStoreError/Code/unsupported``; the cookie store has none,
    ///   see ``CookieStore``).
    public func sessions(of owner: String, current: RequestSession? = nil) async throws -> [SessionSummary] {
        let index = try ownerIndex()
        let now = clock.now()
        let records = try await perform(.list) { try await index.sessions(of: owner) }
        let currentKey = current?.currentKey
        var summaries: [SessionSummary] = []
        for stored in records where stored.record.expiresAt > now {
            // The payload is the source of truth: a record re-bound elsewhere is not listed.
            guard let payload = SessionPayload(decoding: stored.record.data), SessionPayload.isSameOwner(payload.owner, owner) else { continue }
            let createdAt = Date(timeIntervalSince1970: payload.createdAt)
            if configuration.expiry.isPastAbsoluteTimeout(createdAt: createdAt, now: now) { continue }
            // Every touch or save sets the expiry to last activity + idle timeout, so
            // the last activity is recovered without writing it separately.
            let lastSeen = max(createdAt, stored.record.expiresAt - configuration.expiry.idleTimeout.seconds)
            summaries.append(
                SessionSummary(
                    handle: Self.handle(for: stored.record.key),
                    isCurrent: stored.record.key == currentKey,
                    createdAt: createdAt,
                    lastSeenAt: min(lastSeen, now),
                    expiresAt: stored.record.expiresAt,
                    userAgent: payload.userAgent,
                    ipAddress: payload.ipAddress
                )
            )
        }
        return summaries.sorted { ($0.lastSeenAt, $0.handle) > ($1.lastSeenAt, $1.handle) }
    }

    /// Revokes one session of `owner` by its handle; the device is signed out at its next request.
    ///
    /// A handle of another owner's session, an unknown or an expired one revokes nothing.
    ///
    /// - Parameters:
    ///   - handle: A ``SessionSummary/handle``.
    ///   - owner: The owner the session must belong to.
    /// - Returns: Whether a session was revoked.
    /// - Throws: ``SessionStoreError`` when the store fails or has no owner index.
    @discardableResult
    public func revokeSession(handle: String, of owner: String) async throws -> Bool {
        let index = try ownerIndex()
        let records = try await perform(.list) { try await index.sessions(of: owner) }
        guard let target = records.first(where: { Self.handle(for: $0.record.key) == handle }) else { return false }
        try await deleteRecord(target.record.key)
        metrics.deleted.increment()
        return true
    }

    /// Revokes every session of `owner` except `current` ("sign out everywhere else"),
    /// or all of them when `current` is `nil` (after a password change).
    ///
    /// - Parameters:
    ///   - owner: The owner id.
    ///   - current: The session to keep, usually the asking request's.
    /// - Returns: How many sessions were revoked.
    /// - Throws: ``SessionStoreError`` when the store fails or has no owner index.
    @discardableResult
    public func revokeSessions(of owner: String, except current: RequestSession? = nil) async throws -> Int {
        let index = try ownerIndex()
        let keep = current?.currentKey
        let revoked = try await perform(.deleteOwner) { try await index.deleteSessions(of: owner, except: keep) }
        metrics.deleted.increment(by: revoked)
        return revoked
    }

    /// The opaque handle of a session: 16 bytes of a SHA-256 over its key, base64url.
    static func handle(for key: SessionKey) -> String {
        let digest = SHA256.hash(data: Array("sessionkit-handle:\(key.hex)".utf8))
        return Base64URL.encode(Array(digest).prefix(16))
    }

    private func ownerIndex() throws -> any SessionOwnerIndex {
        guard case .server(let store) = backend, let index = store as? any SessionOwnerIndex else {
            throw SessionStoreError(
                code: .unsupported,
                storeName: storeName,
                message: "this store has no owner index, so it cannot list or revoke an owner's sessions"
            )
        }
        return index
    }
}

extension RequestSession {
    /// The store key of the loaded session, if it was loaded from a server-side store.
    var currentKey: SessionKey? { origin.stored?.record.key }
}

extension SessionPayload {
    mutating func recordClient(_ client: SessionClient?, as metadata: SessionMetadataConfiguration) {
        guard let client else { return }
        if metadata.recordsUserAgent, let agent = client.userAgent { userAgent = String(agent.prefix(256)) }
        if metadata.recordsIPAddress, let address = client.ipAddress { ipAddress = String(address.prefix(64)) }
    }
}
