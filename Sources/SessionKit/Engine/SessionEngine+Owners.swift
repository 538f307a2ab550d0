public import Crypto
public import Foundation
import Logging
import Metrics
import Synchronization

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

/// One page of an owner's sessions, from ``SessionEngine/sessions(of:current:limit:cursor:)``.
public struct SessionSummaryPage: Sendable, Hashable {
    /// The page's live sessions, newest first within the page.
    public var sessions: [SessionSummary]
    /// Where the next page starts; `nil` after the last page.
    public var nextCursor: SessionOwnerCursor?
}

extension SessionEngine {
    /// How many sessions each owner-index store call reads or deletes.
    static let ownerPageSize = 100

    /// The live sessions of `owner`, newest first, read page by page.
    ///
    /// - Warning: O(sessions of the owner): every page is read before the list is
    ///   sorted. With ``Configuration/maximumSessionsPerOwner`` (default 100) that
    ///   is one or two store calls; without it, use
    ///   ``sessions(of:current:limit:cursor:)``.
    ///
    /// - Parameters:
    ///   - owner: The owner id given to ``RequestSession/regenerate(owner:)``.
    ///   - current: The asking request's session, marked ``SessionSummary/isCurrent``.
    /// - Throws: ``SessionStoreError`` when the store fails or has no owner index
    ///   (code ``SessionStoreError/Code/unsupported``; the cookie store has none,
    ///   see ``CookieStore``).
    public func sessions(of owner: String, current: RequestSession? = nil) async throws -> [SessionSummary] {
        var summaries: [SessionSummary] = []
        var cursor: SessionOwnerCursor?
        repeat {
            let page = try await sessions(of: owner, current: current, limit: Self.ownerPageSize, cursor: cursor)
            summaries += page.sessions
            cursor = page.nextCursor
        } while cursor != nil
        return summaries.sorted { ($0.lastSeenAt, $0.handle) > ($1.lastSeenAt, $1.handle) }
    }

    /// One page of the live sessions of `owner`: one store call, bounded by `limit`.
    ///
    /// Start with `cursor: nil` and pass each page's ``SessionSummaryPage/nextCursor``
    /// until it is `nil`; every session live throughout is listed exactly once. A
    /// page may hold fewer than `limit` sessions, even none, before the last.
    ///
    /// - Parameters:
    ///   - owner: The owner id given to ``RequestSession/regenerate(owner:)``.
    ///   - current: The asking request's session, marked ``SessionSummary/isCurrent``.
    ///   - limit: The most sessions on the page (the built-in stores allow at
    ///     most ``SessionOwnerPage/maximumLimit``).
    ///   - cursor: `nil` for the first page, else the previous page's cursor.
    /// - Returns: The page, newest first, and the next page's cursor.
    /// - Throws: ``SessionStoreError`` when the store fails or has no owner index.
    public func sessions(
        of owner: String,
        current: RequestSession? = nil,
        limit: Int,
        cursor: SessionOwnerCursor?
    ) async throws -> SessionSummaryPage {
        let index = try ownerIndex()
        let now = clock.now()
        let page = try await perform(.list) { try await index.sessions(of: owner, limit: limit, cursor: cursor) }
        let currentKey = current?.currentKey
        var summaries: [SessionSummary] = []
        for stored in page.sessions where stored.record.expiresAt > now {
            // The payload is the source of truth: a record re-bound elsewhere is not listed.
            guard let payload = decodedRecords.decode(stored.record.data, stored.record.key), SessionPayload.isSameOwner(payload.owner, owner) else { continue }
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
        summaries.sort { ($0.lastSeenAt, $0.handle) > ($1.lastSeenAt, $1.handle) }
        return SessionSummaryPage(sessions: summaries, nextCursor: page.nextCursor)
    }

    /// Revokes one session of `owner` by its handle; the device is signed out at its next request.
    ///
    /// A handle of another owner's session, an unknown or an expired one revokes
    /// nothing. The owner's index is read page by page until the handle is found.
    ///
    /// - Parameters:
    ///   - handle: A ``SessionSummary/handle``.
    ///   - owner: The owner the session must belong to.
    /// - Returns: Whether a session was revoked.
    /// - Throws: ``SessionStoreError`` when the store fails or has no owner index.
    @discardableResult
    public func revokeSession(handle: String, of owner: String) async throws -> Bool {
        let index = try ownerIndex()
        var cursor: SessionOwnerCursor?
        repeat {
            let page = try await perform(.list) { try await index.sessions(of: owner, limit: Self.ownerPageSize, cursor: cursor) }
            if let target = page.sessions.first(where: { Self.handle(for: $0.record.key) == handle }) {
                try await deleteRecord(target.record.key)
                metrics.deleted.increment()
                return true
            }
            cursor = page.nextCursor
        } while cursor != nil
        return false
    }

    /// Revokes every session of `owner` except `current` ("sign out everywhere else"),
    /// or all of them when `current` is `nil` (after a password change).
    ///
    /// The store deletes at most 100 sessions per call, and the engine calls it
    /// again until none remains, so other users' requests are never held up
    /// behind one owner's many sessions.
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
        var revoked = 0
        while true {
            let step = try await perform(.deleteOwner) {
                try await index.deleteSessions(of: owner, except: keep, limit: Self.ownerPageSize)
            }
            metrics.deleted.increment(by: step.deleted)
            revoked += step.deleted
            if !step.hasMore { return revoked }
        }
    }

    /// The owner a request signs in as, if it called ``RequestSession/regenerate(owner:)``;
    /// read before the commit, for ``endSessionsBeyondOwnerLimit(after:result:)``.
    func ownerLogin(_ session: RequestSession) -> String? {
        guard configuration.maximumSessionsPerOwner != nil else { return nil }
        return session.state.withLock { $0.isRegenerated && !$0.isInvalidated ? $0.payload.owner : nil }
    }

    /// Ends the least recently used sessions of the owner who just signed in,
    /// beyond ``Configuration/maximumSessionsPerOwner``.
    ///
    /// The owner's index is read page by page (bounded store calls; O(limit) in
    /// all while the limit holds); the sessions with the earliest expiry — last
    /// activity plus the idle timeout — are deleted, never the new one. A store
    /// failure here is logged and leaves the login as it was: the next login
    /// ends the surplus.
    func endSessionsBeyondOwnerLimit(after owner: String?, result: SessionCommitResult) async {
        guard let owner, let maximum = configuration.maximumSessionsPerOwner, let newKey = result.token?.key,
            result.action == .regenerated || result.action == .created,
            case .server(let store) = backend, let index = store as? any SessionOwnerIndex
        else { return }
        do {
            var others: [(expiresAt: Date, key: SessionKey)] = []
            var cursor: SessionOwnerCursor?
            repeat {
                let page = try await perform(.list) {
                    try await index.sessions(of: owner, limit: Self.ownerPageSize, cursor: cursor)
                }
                for stored in page.sessions where stored.record.key != newKey {
                    others.append((stored.record.expiresAt, stored.record.key))
                }
                cursor = page.nextCursor
            } while cursor != nil
            let surplus = others.count + 1 - maximum
            guard surplus > 0 else { return }
            others.sort { ($0.expiresAt, $0.key.hex) < ($1.expiresAt, $1.key.hex) }
            for victim in others.prefix(surplus) {
                try await deleteRecord(victim.key)
                metrics.deleted.increment()
            }
        } catch {
            logger.warning(
                "could not end an owner's sessions beyond maximumSessionsPerOwner; the next login retries",
                metadata: ["sessionkit.store": "\(storeName)", "sessionkit.error": "\(error)"]
            )
        }
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
