public import Foundation
public import Logging
public import Metrics

extension SessionEngine {
    /// Creates an engine that keeps each session in its cookie, encrypted (see ``CookieStore``).
    ///
    /// With this store there is no compare-and-swap (the last response wins) and
    /// no server-side revocation; everything else — the session API, flash,
    /// timeouts, CSRF — works as with a server-side store.
    ///
    /// - Parameters:
    ///   - cookieStore: The key ring.
    ///   - configuration: Cookie, timeouts and CSRF settings.
    ///   - clock: The clock for expiry.
    ///   - logger: Where bad cookies (debug), CSRF refusals (notice) and oversized
    ///     sessions (error) are logged.
    ///   - metricsFactory: Where the engine's counters and timers are made, once, here.
    ///     Defaults to `MetricsSystem.factory`.
    /// - Throws: ``SessionConfigurationError`` naming the invalid setting.
    public init(
        cookieStore: CookieStore,
        configuration: Configuration = .init(),
        clock: any SessionClock = SystemSessionClock(),
        logger: Logger = Logger(label: "sessionkit"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(SessionConfigurationError) {
        try self.init(
            backend: .cookie(cookieStore),
            configuration: configuration,
            clock: clock,
            logger: logger,
            metricsFactory: metricsFactory
        )
    }

    /// The longest `Set-Cookie` line browsers keep; longer ones are dropped silently.
    static let maximumSetCookieLineLength = 4096

    func loadSealed(cookieHeader: String?, client: SessionClient?, from cookieStore: CookieStore) async throws -> RequestSession {
        let now = clock.now()
        guard let value = sessionCookieValue(in: cookieHeader) else { return newSession(now: now, client: client) }
        guard let plaintext = cookieStore.open(value, cookieName: sessionCookieName),
            plaintext.count > 8
        else {
            logger.debug("session cookie failed to open; ignored", metadata: ["sessionkit.reason": "unsealable-cookie"])
            return newSession(now: now, hadCookie: true, client: client)
        }
        let milliseconds = plaintext[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let expiresAt = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        guard let payload = SessionPayload(decoding: Array(plaintext[8...])) else {
            logger.warning("sealed session payload unreadable; ignored", metadata: ["sessionkit.store": "cookie"])
            return newSession(now: now, hadCookie: true, client: client)
        }
        let createdAt = Date(timeIntervalSince1970: payload.createdAt)
        if expiresAt <= now || configuration.expiry.isPastAbsoluteTimeout(createdAt: createdAt, now: now) {
            logger.debug("expired session cookie ignored", metadata: ["sessionkit.reason": "expired-cookie"])
            metrics.expired.increment()
            return newSession(now: now, hadCookie: true, client: client)
        }
        if let owner = payload.owner, let ownerEpoch = cookieStore.ownerEpoch {
            let current = try await perform(.ownerEpoch) { try await ownerEpoch(owner) }
            guard current <= payload.ownerEpoch ?? 0 else {
                logger.debug("session cookie older than its owner's epoch ignored", metadata: ["sessionkit.reason": "revoked-cookie"])
                return newSession(now: now, hadCookie: true, client: client)
            }
        }
        metrics.loaded.increment()
        return RequestSession(
            origin: .init(payload: payload, hadCookie: true, sealedExpiresAt: expiresAt, client: client),
            createdAt: payload.createdAt
        )
    }

    func commitSealed(
        _ snapshot: RequestSession.State,
        origin: RequestSession.Origin,
        to cookieStore: CookieStore,
        now: Date
    ) async throws -> SessionCommitResult {
        var payload = snapshot.payload
        if snapshot.isInvalidated || !(origin.payload != nil && origin.sealedExpiresAt != nil) || snapshot.isRegenerated {
            payload.recordClient(origin.client, as: configuration.metadata)
        }
        let isBoundNow = snapshot.operations.contains { if case .bindOwner = $0 { true } else { false } }
        if let owner = payload.owner, isBoundNow || payload.ownerEpoch == nil || !SessionPayload.isSameOwner(owner, origin.payload?.owner),
            let ownerEpoch = cookieStore.ownerEpoch
        {
            // Binding to an owner seals the owner's current epoch into the cookie, read
            // afresh even when the owner is the same: "bump the epoch, then
            // `regenerate(owner:)` to keep this device" must keep this device.
            payload.ownerEpoch = try await perform(.ownerEpoch) { try await ownerEpoch(owner) }
        }
        let loadedPayload = snapshot.isInvalidated ? nil : origin.payload
        let isLoaded = loadedPayload != nil && origin.sealedExpiresAt != nil
        if snapshot.isInvalidated {
            payload.createdAt = now.timeIntervalSince1970
            // The loaded session ends here, whether or not a fresh one replaces it.
            if origin.payload != nil && origin.sealedExpiresAt != nil { metrics.deleted.increment() }
        }

        let isChanged = !snapshot.operations.isEmpty || payload.hasFlashToAge || snapshot.isRegenerated || snapshot.isInvalidated
        if !isChanged {
            guard isLoaded, let sealedExpiresAt = origin.sealedExpiresAt else {
                guard snapshot.isExplicitlyStarted else { return SessionCommitResult(action: .none) }
                return try await seal(payload, into: cookieStore, now: now, action: .created, isNew: true)
            }
            let createdAt = Date(timeIntervalSince1970: payload.createdAt)
            guard case .extended = configuration.expiry.validate(expiresAt: sealedExpiresAt, createdAt: createdAt, now: now) else {
                return SessionCommitResult(action: .none, expiresAt: sealedExpiresAt)
            }
            return try await seal(payload, into: cookieStore, now: now, action: .touched, isNew: false)
        }

        payload.ageFlash()
        if payload.isEmpty && !snapshot.isExplicitlyStarted {
            let hadSession = isLoaded || (snapshot.isInvalidated && origin.hadCookie)
            if isLoaded { metrics.deleted.increment() }
            return SessionCommitResult(action: snapshot.isInvalidated ? .invalidated : .deleted, setCookies: hadSession ? expiredCookies() : [])
        }
        let action: SessionCommitResult.Action
        if snapshot.isInvalidated {
            action = .invalidated
        } else if !isLoaded {
            action = .created
        } else if snapshot.isRegenerated {
            action = .regenerated
        } else {
            action = .saved
        }
        let rotated = !isLoaded || payload.csrfSecret != loadedPayload?.csrfSecret
        return try await seal(payload, into: cookieStore, now: now, action: action, isNew: rotated)
    }

    /// Seals `payload` into a session cookie (and, when `isNew`, a fresh `XSRF-TOKEN` cookie),
    /// instrumented as the cookie store's `seal` operation, and counts the session by `action`.
    private func seal(
        _ payload: SessionPayload,
        into cookieStore: CookieStore,
        now: Date,
        action: SessionCommitResult.Action,
        isNew: Bool
    ) async throws -> SessionCommitResult {
        let result = try await perform(.seal) {
            try sealUninstrumented(payload, into: cookieStore, now: now, action: action, isNew: isNew)
        }
        switch action {
        case .created, .regenerated, .invalidated: metrics.created.increment()
        case .saved: metrics.saved.increment()
        case .touched: metrics.touched.increment()
        default: break
        }
        return result
    }

    private func sealUninstrumented(
        _ payload: SessionPayload,
        into cookieStore: CookieStore,
        now: Date,
        action: SessionCommitResult.Action,
        isNew: Bool
    ) throws -> SessionCommitResult {
        var payload = payload
        if configuration.csrf.mode == .originAndToken, payload.csrfSecret == nil {
            payload.values[CSRFToken.sessionKey] = .string(CSRFToken.generateSecret())
        }
        let expiresAt = configuration.expiry.expiry(createdAt: Date(timeIntervalSince1970: payload.createdAt), now: now)
        let milliseconds = UInt64(max(0, (expiresAt.timeIntervalSince1970 * 1000).rounded(.down)))
        var plaintext = (0..<8).reversed().map { UInt8(truncatingIfNeeded: milliseconds >> (UInt64($0) * 8)) }
        plaintext += try encodedForCookie(payload).bytes
        let value: String
        do {
            value = try cookieStore.seal(plaintext, cookieName: sessionCookieName)
        } catch {
            throw SessionStoreError(code: .unavailable, storeName: cookieStore.name, message: "sealing the session cookie failed", cause: error)
        }
        let cookie = configuration.cookie.sessionCookie(value: value, expiresAt: expiresAt, now: now)
        let lineLength = "Set-Cookie: ".utf8.count + cookie.utf8.count
        guard lineLength <= Self.maximumSetCookieLineLength else {
            // Logged and counted by `perform`, whose error metadata carries this message and its size.
            throw SessionStoreError(
                code: .tooLarge,
                storeName: cookieStore.name,
                message: "the session cookie would be \(lineLength) bytes, over the \(Self.maximumSetCookieLineLength) bytes browsers keep; "
                    + "store less in the session or use a server-side store"
            )
        }
        var cookies = [cookie]
        // A new or rotated secret needs its readable cookie; otherwise it is only
        // refreshed when its expiry follows the session's.
        if isNew || configuration.cookie.lifetime == .followsSession {
            cookies += xsrfCookie(secret: payload.csrfSecret, expiresAt: expiresAt, now: now)
        }
        return SessionCommitResult(action: action, expiresAt: expiresAt, setCookies: cookies)
    }
}
