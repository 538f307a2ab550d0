public import Foundation
public import Logging
public import Metrics
import Synchronization

/// Loads a request's session before the handler and commits it after, doing
/// the least store work that is correct. Framework-free: adapters hand it the
/// Cookie header and write back the headers of the ``SessionCommitResult``.
///
/// What a commit does:
/// - nothing changed and the idle expiry moved by less than the touch interval:
///   no store call and no `Set-Cookie`;
/// - nothing changed but the touch interval passed: `touch` only;
/// - changed: a compare-and-swap `save`; on a conflict the engine reloads the
///   record and replays this request's ``SessionOperation``s on it, a bounded
///   number of times, so concurrent requests lose nothing. Concurrent commits of
///   one session in this engine never race each other: they queue, and the
///   queued ones are saved together in one write (counted in
///   `sessionkit_sessions_coalesced_total`);
/// - emptied: the record is retired by compare-and-swap (a concurrent write is
///   replayed on instead of lost), then deleted, and the cookie expired;
/// - regenerated: the old record is retired by compare-and-swap, the data moves
///   under a new token, the old record is deleted;
/// - invalidated: `delete`, and a fresh session only if the request wrote to it.
///
/// A session that another request deleted, invalidated or regenerated while
/// this one ran is never brought back by this one's commit.
///
/// It does not parse request bodies or know any web framework; CSRF checks run
/// only when an adapter asks (``checkCSRF(_:session:formBody:)``).
///
/// Observability: every store call gets a span `sessionkit.store.<operation>`
/// (attributes `sessionkit.store` and `sessionkit.result`: `hit`, `miss`,
/// `saved`, `conflict`, `ok` or `error`) and a recording of the timer
/// `sessionkit_store_operation_duration{store, operation}`; failures are logged
/// at error and counted in `sessionkit_store_errors_total{store, operation}`.
/// The counters `sessionkit_sessions_{created,loaded,replays,deleted,expired,touched}_total`,
/// `sessionkit_sessions_saved_total{result}` and `sessionkit_csrf_refusals_total{reason}`
/// follow the sessions. No log line, metric or span carries a token; logs show at
/// most a key's ``SessionKey/fingerprint``. An unchanged request inside the touch
/// interval costs one store call, the load, and nothing at commit.
///
/// ```swift
/// let engine = try SessionEngine(store: MemoryStore())
/// let session = try await engine.load(cookieHeader: request.headers["Cookie"])
/// session.put("user", "alice")
/// let result = try await engine.commit(session)
/// for header in result.headers { response.headers.add(name: header.name, value: header.value) }
/// ```
public struct SessionEngine: Sendable {
    /// The engine's settings, validated at start-up.
    public struct Configuration: Sendable {
        /// The session cookie.
        public var cookie: SessionCookieConfiguration
        /// CSRF protection for unsafe requests.
        public var csrf: CSRFConfiguration
        /// Idle and absolute timeouts and the touch interval.
        public var expiry: SessionExpiryPolicy
        /// How many times a conflicting save is retried on a fresher record before
        /// the commit fails with ``SessionStoreError/Code/conflictRetriesExhausted``. Default 32.
        public var maximumConflictRetries: Int
        /// Longer session cookie values are ignored as no session. Default 4,096 bytes.
        public var maximumCookieValueLength: Int
        /// Which client details a new session records, for the owner's session list.
        public var metadata: SessionMetadataConfiguration = .init()
        /// The most store operations this engine has in flight at once. A request
        /// that needs the store beyond it fails at once with
        /// ``SessionStoreError/Code/overloaded`` (a 503) instead of queueing, so
        /// a slow store costs bounded memory and answers stay quick. Default 1,024.
        public var maximumInFlightStoreOperations: Int = 1024
        /// How many recently read or written session records the engine keeps
        /// decoded, so that a record loaded again unchanged (the same bytes) is
        /// not decoded again. A record changed elsewhere has other bytes and is
        /// always decoded afresh. `0` turns the cache off. Default 1,024.
        public var decodedRecordCacheCapacity: Int = 1024
        /// Whether every response of a request that loaded a session is marked as
        /// depending on who asked: `Vary: Cookie`, and `Cache-Control: private` when
        /// the app set no `Cache-Control` of its own (an app's own value is left
        /// alone). Like Django's session middleware, so a shared cache never serves
        /// one user's page to another. Default `true`.
        ///
        /// - Warning: With `false`, a response that reads a session but sets no
        ///   cookie (say `/me` for a signed-in user) carries neither header, and a
        ///   shared cache in front of the app may hand it to other users. Turn it
        ///   off only when no shared cache can see these responses.
        public var marksResponsesPrivate: Bool = true
        /// The most record bytes the decoded-record cache keeps, counted as the
        /// stored size of each record it holds (the decoded copy takes about as
        /// much again). A record larger than half of it is never kept. `0` turns
        /// the cache off. Default 16 MiB: 16,384 sessions of 1 KiB, or 64 at the
        /// default ``maximumSessionSize``.
        public var decodedRecordCacheByteBudget: Int = 16 << 20
        /// The largest session, in bytes of its stored record, a commit may write.
        ///
        /// A commit that would write more fails that request with
        /// ``SessionStoreError/Code/sessionTooLarge`` (adapters answer `413`) and
        /// writes nothing: the stored session stays exactly as it was. Every
        /// change rewrites the whole record, so a session is no place for a cache.
        /// At least 1,024. Default 256 KiB (262,144 bytes), 64 times what the
        /// ``CookieStore`` can hold at all.
        public var maximumSessionSize: Int = 256 << 10
        /// Encrypts every record's payload before it reaches a server-side store;
        /// `nil` (the default) keeps payloads as plain JSON.
        ///
        /// See ``SessionPayloadEncryption``. Not used with the ``CookieStore``,
        /// whose cookies are always sealed: setting both is refused at start-up.
        public var payloadEncryption: SessionPayloadEncryption? = nil
        /// The most sessions one owner keeps. At login (the commit of
        /// ``RequestSession/regenerate(owner:)``) the owner's least recently used
        /// sessions beyond it are ended, so listing or revoking an owner's sessions
        /// stays a bounded amount of work. `nil`: no limit. Default 100 — more
        /// devices and browsers than a person uses, and one page of the owner index.
        ///
        /// - Warning: With `nil`, a client that signs in again and again without
        ///   keeping its cookie (a script) grows the owner's sessions until they
        ///   expire, and every listing and revocation of that owner with them.
        public var maximumSessionsPerOwner: Int? = 100

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - cookie: The session cookie.
        ///   - csrf: CSRF protection.
        ///   - expiry: Timeouts and touch interval.
        ///   - maximumConflictRetries: Retries after a compare-and-swap conflict.
        ///   - maximumCookieValueLength: The longest session cookie value considered.
        public init(
            cookie: SessionCookieConfiguration = .init(),
            csrf: CSRFConfiguration = .init(),
            expiry: SessionExpiryPolicy = .init(),
            maximumConflictRetries: Int = 32,
            maximumCookieValueLength: Int = 4096
        ) {
            self.cookie = cookie
            self.csrf = csrf
            self.expiry = expiry
            self.maximumConflictRetries = maximumConflictRetries
            self.maximumCookieValueLength = maximumCookieValueLength
        }

        /// Checks every setting.
        ///
        /// - Throws: ``SessionConfigurationError`` naming the first invalid setting.
        public func validate() throws(SessionConfigurationError) {
            try cookie.validate()
            try csrf.validate()
            guard csrf.cookieName != cookie.effectiveName else {
                throw SessionConfigurationError(setting: "csrf.cookieName", reason: "must differ from the session cookie's name")
            }
            if csrf.mode == .originAndToken {
                // The readable cookie shares the session cookie's Path, Domain and Secure, never HttpOnly.
                try cookie.validatePrefix(of: csrf.cookieName, setting: "csrf.cookieName", isHTTPOnly: false)
            }
            try expiry.validate()
            guard decodedRecordCacheCapacity >= 0 else {
                throw SessionConfigurationError(setting: "decodedRecordCacheCapacity", reason: "must be at least 0 (0 turns the cache off)")
            }
            guard decodedRecordCacheByteBudget >= 0 else {
                throw SessionConfigurationError(setting: "decodedRecordCacheByteBudget", reason: "must be at least 0 (0 turns the cache off)")
            }
            guard maximumSessionSize >= 1024 else {
                throw SessionConfigurationError(
                    setting: "maximumSessionSize",
                    reason: "must be at least 1,024 bytes (a session with its CSRF secret and client details takes a few hundred), got \(maximumSessionSize)"
                )
            }
            if let maximumSessionsPerOwner, maximumSessionsPerOwner < 1 {
                throw SessionConfigurationError(setting: "maximumSessionsPerOwner", reason: "must be at least 1, or nil for no limit")
            }
            guard maximumInFlightStoreOperations >= 1 else {
                throw SessionConfigurationError(setting: "maximumInFlightStoreOperations", reason: "must be at least 1")
            }
            guard maximumConflictRetries >= 0 else {
                throw SessionConfigurationError(setting: "maximumConflictRetries", reason: "must be at least 0")
            }
            guard maximumCookieValueLength >= SessionToken.encodedLength else {
                throw SessionConfigurationError(
                    setting: "maximumCookieValueLength",
                    reason: "must be at least \(SessionToken.encodedLength), the length of a session token"
                )
            }
        }
    }

    enum Backend: Sendable {
        case server(any SessionStore)
        case cookie(CookieStore)
    }

    let backend: Backend

    /// The server-side store sessions are kept in; `nil` with the ``CookieStore``.
    public var store: (any SessionStore)? {
        if case .server(let store) = backend { return store }
        return nil
    }

    /// The store's name, for logs and error messages: `memory`, `file`, `cookie`, ...
    public var storeName: String {
        switch backend {
        case .server(let store): return store.name
        case .cookie(let store): return store.name
        }
    }

    /// Whether the engine's store calls block the calling thread (``SessionStore/blocksCallingThread``);
    /// adapters then keep the session work off event loops.
    package var blocksCallingThread: Bool { store?.blocksCallingThread ?? false }

    /// The server-side store; only reached on paths that the cookie store never takes.
    var serverStore: any SessionStore {
        guard case .server(let store) = backend else { preconditionFailure("server-side session path reached with the cookie store") }
        return store
    }
    /// The validated settings.
    public let configuration: Configuration
    /// ``SessionCookieConfiguration/effectiveName``, worked out once.
    let sessionCookieName: String
    let clock: any SessionClock
    let logger: Logger
    let csrf: CSRFProtection
    let metrics: SessionMetrics
    /// Serialises and batches concurrent commits of one session; shared by every copy of this engine.
    let commitQueue = SessionCommitQueue()
    /// Counts store operations in flight against ``Configuration/maximumInFlightStoreOperations``.
    let inFlight: InFlightLimiter
    /// Recently read or written records, decoded; shared by every copy of this engine.
    let decodedRecords: DecodedRecordCache

    /// Creates an engine, validating its configuration.
    ///
    /// - Parameters:
    ///   - store: Where sessions are kept.
    ///   - configuration: Cookie, timeouts and retry settings.
    ///   - clock: The clock for expiry; inject a manual one in tests.
    ///   - logger: Where store failures (error), CSRF refusals (notice), and conflicts
    ///     and bad cookies (debug) are logged.
    ///   - metricsFactory: Where the engine's counters and timers are made, once, here.
    ///     Defaults to `MetricsSystem.factory`, so bootstrap the metrics system
    ///     before creating the engine; pass a factory to keep tests apart.
    /// - Throws: ``SessionConfigurationError`` naming the invalid setting.
    public init(
        store: any SessionStore,
        configuration: Configuration = .init(),
        clock: any SessionClock = SystemSessionClock(),
        logger: Logger = Logger(label: "sessionkit"),
        metricsFactory: any MetricsFactory = MetricsSystem.factory
    ) throws(SessionConfigurationError) {
        try self.init(
            backend: .server(store),
            configuration: configuration,
            clock: clock,
            logger: logger,
            metricsFactory: metricsFactory
        )
    }

    init(
        backend: Backend,
        configuration: Configuration,
        clock: any SessionClock,
        logger: Logger,
        metricsFactory: any MetricsFactory
    ) throws(SessionConfigurationError) {
        try configuration.validate()
        if case .cookie = backend, configuration.payloadEncryption != nil {
            throw SessionConfigurationError(
                setting: "payloadEncryption",
                reason: "the cookie store seals every session cookie already; payload encryption is for server-side stores, leave it nil"
            )
        }
        self.backend = backend
        self.configuration = configuration
        self.sessionCookieName = configuration.cookie.effectiveName
        self.clock = clock
        self.logger = logger
        self.csrf = CSRFProtection(configuration: configuration.csrf)
        let isCookieStore: Bool
        let storeName: String
        switch backend {
        case .server(let store): (isCookieStore, storeName) = (false, store.name)
        case .cookie(let store): (isCookieStore, storeName) = (true, store.name)
        }
        self.metrics = SessionMetrics(storeName: storeName, isCookieStore: isCookieStore, factory: metricsFactory)
        self.inFlight = InFlightLimiter(limit: configuration.maximumInFlightStoreOperations)
        self.decodedRecords = DecodedRecordCache(
            capacity: isCookieStore ? 0 : configuration.decodedRecordCacheCapacity,
            byteBudget: configuration.decodedRecordCacheByteBudget,
            decode: Self.recordDecoder(encryption: configuration.payloadEncryption, storeName: storeName, logger: logger)
        )
    }

    // MARK: Load

    /// Loads the session named by the request's Cookie header.
    ///
    /// No cookie, a repeated, empty, oversized or malformed session cookie, or a
    /// token the store does not know: an empty, not-yet-started session. Nothing
    /// is written for it, and the client's token is never reused.
    ///
    /// - Parameters:
    ///   - cookieHeader: The request's Cookie header; several header lines joined with `"; "`.
    ///   - client: The client's user agent and address, recorded on a new session
    ///     when ``Configuration/metadata`` asks for them.
    /// - Returns: The request's session.
    /// - Throws: ``SessionStoreError`` when the store fails.
    public func load(cookieHeader: String?, client: SessionClient? = nil) async throws -> RequestSession {
        if case .cookie(let cookieStore) = backend {
            return try await loadSealed(cookieHeader: cookieHeader, client: client, from: cookieStore)
        }
        return try await load(token: token(fromCookieHeader: cookieHeader), client: client)
    }

    /// Loads the session of a token the caller parsed itself.
    ///
    /// - Parameters:
    ///   - token: The token, or `nil` for a new session.
    ///   - client: The client's details, recorded on a new session when configured.
    /// - Returns: The request's session; an empty, new one when the token is
    ///   unknown, expired or its record unreadable.
    /// - Throws: ``SessionStoreError`` when the store fails.
    public func load(token: SessionToken?, client: SessionClient? = nil) async throws -> RequestSession {
        let now = clock.now()
        // The cookie store has no tokens: its sessions load only from the cookie itself.
        guard let token, case .server = backend else { return newSession(now: now, client: client) }
        let key = token.key
        guard let stored = try await performLoad(key, from: serverStore) else {
            logger.debug("unknown or expired session id", metadata: ["sessionkit.reason": "unknown-session"])
            return newSession(now: now, hadCookie: true, client: client)
        }
        guard let payload = decodedRecords.payload(of: stored.record.data, under: key) else {
            // The decoder logged why: a warning for unreadable JSON, debug for an encrypted record that did not open.
            return newSession(now: now, hadCookie: true, client: client)
        }
        let createdAt = Date(timeIntervalSince1970: payload.createdAt)
        if stored.record.expiresAt <= now || configuration.expiry.isPastAbsoluteTimeout(createdAt: createdAt, now: now) {
            try await deleteRecord(key)
            metrics.expired.increment()
            return newSession(now: now, hadCookie: true, client: client)
        }
        metrics.loaded.increment()
        return RequestSession(
            origin: .init(token: token, stored: stored, payload: payload, hadCookie: true, client: client),
            createdAt: payload.createdAt
        )
    }

    /// The session token in a Cookie header, or `nil` when it is absent, repeated, oversized or malformed.
    ///
    /// - Parameter cookieHeader: The request's Cookie header.
    public func token(fromCookieHeader cookieHeader: String?) -> SessionToken? {
        guard let value = sessionCookieValue(in: cookieHeader) else { return nil }
        guard let token = SessionToken(value) else {
            logger.debug(
                "malformed session cookie ignored",
                metadata: ["sessionkit.reason": "malformed-cookie", "sessionkit.length": "\(value.utf8.count)"]
            )
            return nil
        }
        return token
    }

    /// The session cookie's value, or `nil` when it is absent, repeated or oversized.
    func sessionCookieValue(in cookieHeader: String?) -> Substring? {
        guard let cookieHeader, !cookieHeader.isEmpty else { return nil }
        switch CookieHeader.lookup(sessionCookieName, in: cookieHeader) {
        case .absent:
            return nil
        case .repeated:
            logger.debug("repeated session cookie ignored", metadata: ["sessionkit.reason": "repeated-cookie"])
            return nil
        case .single(let value):
            guard value.utf8.count <= configuration.maximumCookieValueLength else {
                logger.debug(
                    "oversized session cookie ignored",
                    metadata: ["sessionkit.reason": "oversized-cookie", "sessionkit.length": "\(value.utf8.count)"]
                )
                return nil
            }
            return value
        }
    }

    func newSession(now: Date, hadCookie: Bool = false, client: SessionClient? = nil) -> RequestSession {
        RequestSession(origin: .init(hadCookie: hadCookie, client: client), createdAt: now.timeIntervalSince1970)
    }

    // MARK: Commit

    /// Writes what the request changed and says which headers the response needs.
    ///
    /// Call it once, after the handler returned; do not call it when the
    /// handler threw.
    ///
    /// - Parameter session: The session returned by ``load(cookieHeader:client:)``.
    /// - Returns: What was done and the `Set-Cookie` lines to send.
    /// - Throws: ``SessionStoreError`` when the store fails or concurrent
    ///   writers keep winning past ``Configuration/maximumConflictRetries``.
    public func commit(_ session: RequestSession) async throws -> SessionCommitResult {
        let login = ownerLogin(session)
        var result = try await commitChanges(session)
        await endSessionsBeyondOwnerLimit(after: login, result: result)
        // A response that read a stored session, or sets its cookie, depends on who asked.
        result.isPrivate = configuration.marksResponsesPrivate && (session.isLoaded || !result.setCookies.isEmpty)
        return result
    }

    private func commitChanges(_ session: RequestSession) async throws -> SessionCommitResult {
        let snapshot = session.state.withLock { $0 }
        let origin = session.origin
        let now = clock.now()
        if case .cookie(let cookieStore) = backend {
            return try await commitSealed(snapshot, origin: origin, to: cookieStore, now: now)
        }

        if snapshot.isInvalidated {
            return try await commitInvalidated(snapshot, origin: origin, now: now)
        }
        guard let token = origin.token, let stored = origin.stored, let loaded = origin.payload else {
            var payload = snapshot.payload
            payload.recordClient(origin.client, as: configuration.metadata)
            return try await commitNew(payload, isExplicitlyStarted: snapshot.isExplicitlyStarted, now: now)
        }
        let loadedSession = LoadedSession(token: token, stored: stored, payload: loaded)
        if snapshot.isRegenerated {
            return try await commitRegenerated(loadedSession, operations: snapshot.operations, client: origin.client, now: now)
        }
        if !snapshot.operations.isEmpty || snapshot.payload.hasFlashToAge {
            return try await commitChanged(.init(loaded: loadedSession, operations: snapshot.operations, current: snapshot.payload))
        }
        return try await commitUnchanged(loadedSession, now: now)
    }

    struct LoadedSession: Sendable {
        var token: SessionToken
        var stored: StoredSession
        var payload: SessionPayload
    }

    private func commitUnchanged(_ loaded: LoadedSession, now: Date) async throws -> SessionCommitResult {
        let createdAt = Date(timeIntervalSince1970: loaded.payload.createdAt)
        let expiresAt = loaded.stored.record.expiresAt
        guard case .extended(let newExpiry) = configuration.expiry.validate(expiresAt: expiresAt, createdAt: createdAt, now: now) else {
            return SessionCommitResult(action: .none, token: loaded.token, expiresAt: expiresAt)
        }
        try await perform(.touch) { try await serverStore.touch(loaded.token.key, expiresAt: newExpiry) }
        metrics.touched.increment()
        return SessionCommitResult(
            action: .touched,
            token: loaded.token,
            expiresAt: newExpiry,
            setCookies: refreshedCookies(loaded.token, secret: loaded.payload.csrfSecret, expiresAt: newExpiry, now: now)
        )
    }

    private func commitNew(_ payload: SessionPayload, isExplicitlyStarted: Bool, now: Date) async throws -> SessionCommitResult {
        var payload = payload
        payload.ageFlash()
        guard !payload.isEmpty || isExplicitlyStarted else { return SessionCommitResult(action: .none) }
        return try await create(payload, now: now, action: .created)
    }

    /// Saves `payload` under a new token (create-if-absent) and returns the cookie for it.
    private func create(_ payload: SessionPayload, now: Date, action: SessionCommitResult.Action) async throws -> SessionCommitResult {
        let created = try await insert(payload, now: now)
        return createdResult(created, action: action, now: now)
    }

    /// A record this commit created under a fresh token.
    private struct Created {
        var token: SessionToken
        var version: SessionVersion
        var expiresAt: Date
        var csrfSecret: String?
    }

    /// Gives a payload that lacks one its CSRF secret: every session gets it when
    /// it starts, so the XSRF-TOKEN cookie can go out with it.
    private func withCSRFSecret(_ payload: SessionPayload) -> SessionPayload {
        var payload = payload
        if configuration.csrf.mode == .originAndToken, payload.csrfSecret == nil {
            payload.values[CSRFToken.sessionKey] = .string(CSRFToken.generateSecret())
        }
        return payload
    }

    /// Creates `payload` under a new token (`expecting: nil`).
    private func insert(_ payload: SessionPayload, now: Date) async throws -> Created {
        let payload = withCSRFSecret(payload)
        let token = SessionToken.generate()
        let createdAt = Date(timeIntervalSince1970: payload.createdAt)
        let expiresAt = configuration.expiry.expiry(createdAt: createdAt, now: now)
        let encoding = try encoded(payload, under: token.key)
        let record = SessionRecord(key: token.key, data: encoding.bytes, expiresAt: expiresAt, owner: payload.owner)
        guard case .saved(let version) = try await performSave(record, expecting: nil, to: serverStore) else {
            // A fresh 256-bit token cannot collide; a store that says so is broken.
            throw SessionStoreError(
                code: .unavailable,
                storeName: storeName,
                message: "the store reported a conflict when creating a session under a new random id"
            )
        }
        if encoding.readsBackIdentical { decodedRecords.remember(payload, data: record.data, under: token.key) }
        metrics.created.increment()
        return Created(token: token, version: version, expiresAt: expiresAt, csrfSecret: payload.csrfSecret)
    }

    /// Rewrites the record this commit created with `payload` (compare-and-swap on
    /// its own version); `false` when it is gone (its owner's sessions were revoked).
    private func update(_ created: inout Created, with payload: SessionPayload) async throws -> Bool {
        let payload = withCSRFSecret(payload)
        let encoding = try encoded(payload, under: created.token.key)
        let record = SessionRecord(key: created.token.key, data: encoding.bytes, expiresAt: created.expiresAt, owner: payload.owner)
        guard case .saved(let version) = try await performSave(record, expecting: created.version, to: serverStore) else { return false }
        if encoding.readsBackIdentical { decodedRecords.remember(payload, data: record.data, under: created.token.key) }
        created.version = version
        created.csrfSecret = payload.csrfSecret
        return true
    }

    private func createdResult(_ created: Created, action: SessionCommitResult.Action, now: Date) -> SessionCommitResult {
        var cookies = [configuration.cookie.sessionCookie(value: created.token.cookieValue, expiresAt: created.expiresAt, now: now)]
        cookies += xsrfCookie(secret: created.csrfSecret, expiresAt: created.expiresAt, now: now)
        return SessionCommitResult(action: action, token: created.token, expiresAt: created.expiresAt, setCookies: cookies)
    }

    /// Moves a session to a new token, in an order that keeps it visible to its
    /// owner's index at every instant and lets a concurrent revoke win:
    ///
    /// 1. create the new record, with its owner, under a fresh token;
    /// 2. retire the old record by compare-and-swap (saved already expired, so
    ///    every store counts it as absent). On a conflict the old record is
    ///    reloaded: if another request wrote to it, this request's operations are
    ///    replayed on that fresher payload, the new record is rewritten and the
    ///    retire is tried again; if it is gone (logged out, revoked or
    ///    regenerated elsewhere), the new record is deleted and the commit fails
    ///    with ``SessionStoreError/Code/sessionEnded``;
    /// 3. delete the old record. A failure here is only logged: the retired
    ///    record already counts as absent everywhere, and failing the request
    ///    would leave the client with the old cookie, logged out.
    ///
    /// A revoke between steps 1 and 2 deletes the new record (it is in the index)
    /// and, for a signed-in session, the old one, whose retire then conflicts.
    /// A store failure in step 1 or 2 fails the request with the old session
    /// still in force (the new record is deleted when the store allows), so a
    /// failed login does not log the user out.
    private func commitRegenerated(
        _ loaded: LoadedSession,
        operations: [SessionOperation],
        client: SessionClient?,
        now: Date
    ) async throws -> SessionCommitResult {
        let oldKey = loaded.token.key
        var base = loaded.payload
        var version = loaded.stored.version
        var attempt = 0
        var created: Created?
        // Replayed on a fresher record after a conflict, the request still ages only the flash keys it loaded.
        let seenFlashKeys = SessionPayload.flashKeysSeen(loaded: loaded.payload, operations: operations)
        while true {
            var payload = base
            for operation in operations { payload.apply(operation) }
            payload.ageFlash(seeing: seenFlashKeys)
            // A regenerated session is a new login on this device: record the client afresh.
            payload.recordClient(client, as: configuration.metadata)
            do {
                if payload.isEmpty {
                    if let made = created {
                        try await deleteRecord(made.token.key)
                        created = nil
                    }
                } else if var made = created {
                    guard try await update(&made, with: payload) else { throw sessionEnded() }
                    created = made
                } else {
                    created = try await insert(payload, now: now)
                }
                let retired = SessionRecord(key: oldKey, data: [], expiresAt: Date(timeIntervalSince1970: 0))
                if case .saved = try await performSave(retired, expecting: version, to: serverStore) { break }
                guard let fresh = try await reloadAfterConflict(oldKey, attempt: &attempt) else {
                    // Logged out or revoked meanwhile: the revoke wins, the new record goes too.
                    throw sessionEnded()
                }
                base = fresh.payload
                version = fresh.version
            } catch {
                if let made = created { try? await deleteRecord(made.token.key) }
                throw error
            }
        }
        do {
            try await deleteRecord(oldKey)
        } catch {
            logger.warning(
                "regenerate could not delete the retired record; it counts as absent and is swept later",
                metadata: ["sessionkit.store": "\(storeName)", "sessionkit.session": "\(oldKey.fingerprint)"]
            )
        }
        guard let created else {
            metrics.deleted.increment()
            return SessionCommitResult(action: .deleted, setCookies: expiredCookies())
        }
        return createdResult(created, action: .regenerated, now: now)
    }

    /// The error of a commit whose session ended (regenerated, invalidated or
    /// revoked by another request) before its changes could be saved.
    func sessionEnded() -> SessionStoreError {
        logger.debug(
            "session ended while the request ran; its changes were not saved",
            metadata: ["sessionkit.reason": "session-ended"]
        )
        return SessionStoreError(
            code: .sessionEnded,
            storeName: storeName,
            message: "the session ended while this request ran (signed in, signed out or revoked by another request); its changes were not saved"
        )
    }

    private func commitInvalidated(
        _ snapshot: RequestSession.State,
        origin: RequestSession.Origin,
        now: Date
    ) async throws -> SessionCommitResult {
        if let token = origin.token, origin.stored != nil {
            try await deleteRecord(token.key)
            metrics.deleted.increment()
        }
        var payload = snapshot.payload
        payload.createdAt = now.timeIntervalSince1970
        payload.recordClient(origin.client, as: configuration.metadata)
        payload.ageFlash()
        if !payload.isEmpty || snapshot.isExplicitlyStarted {
            return try await create(payload, now: now, action: .invalidated)
        }
        let cookies = origin.hadCookie ? expiredCookies() : []
        return SessionCommitResult(action: .invalidated, setCookies: cookies)
    }

    /// Reloads a record after a conflict, with a short randomised back-off once
    /// retries pile up; `nil` when the session is gone (another request deleted it).
    func reloadAfterConflict(_ key: SessionKey, attempt: inout Int) async throws -> (payload: SessionPayload, version: SessionVersion)? {
        attempt += 1
        guard attempt <= configuration.maximumConflictRetries else {
            logger.warning(
                "session save kept conflicting; giving up",
                metadata: ["sessionkit.store": "\(storeName)", "sessionkit.reason": "conflict-retries-exhausted"]
            )
            throw SessionStoreError(
                code: .conflictRetriesExhausted,
                storeName: storeName,
                message: "concurrent requests kept changing the session; gave up after \(configuration.maximumConflictRetries) retries"
            )
        }
        logger.debug("session save conflicted; replaying on a fresher record", metadata: ["sessionkit.attempt": "\(attempt)"])
        // Full-jitter exponential back-off (200 µs doubling, capped at 200 ms) spreads out
        // writers that keep colliding. Measured on Redis with 50 tasks on one session:
        // without a wait from the first conflict the worst request needed about 100
        // retries; with this one, about 16.
        let ceiling = min(200 << min(attempt - 1, 10), 200_000)
        try await Task.sleep(for: .microseconds(Int.random(in: 0...ceiling)))
        let now = clock.now()
        guard let fresh = try await performLoad(key, from: serverStore),
            fresh.record.expiresAt > now,
            let payload = decodedRecords.payload(of: fresh.record.data, under: key)
        else {
            logger.debug(
                "session was removed by a concurrent request; dropping this request's changes",
                metadata: ["sessionkit.reason": "concurrently-removed"]
            )
            return nil
        }
        metrics.replays.increment()
        return (payload, fresh.version)
    }

    /// The bytes of the record stored under `key` — the payload's JSON, sealed
    /// when ``Configuration/payloadEncryption`` is on — and whether they decode
    /// back to exactly this payload. Every server-side write goes through here.
    ///
    /// - Throws: ``SessionStoreError/Code/sessionTooLarge`` past
    ///   ``Configuration/maximumSessionSize``, ``SessionStoreError/Code/invalidData``
    ///   when a value nests deeper than the reader accepts; either way nothing is
    ///   written and the stored session stays as it was.
    func encoded(_ payload: SessionPayload, under key: SessionKey) throws(SessionStoreError) -> (bytes: [UInt8], readsBackIdentical: Bool) {
        var encoding = try encodedForCookie(payload)
        if let encryption = configuration.payloadEncryption {
            do {
                encoding.bytes = try encryption.seal(encoding.bytes, under: key)
            } catch {
                throw SessionStoreError(code: .unavailable, storeName: storeName, message: "encrypting the session failed; nothing was saved", cause: error)
            }
            try checkSize(encoding.bytes.count)
        }
        return encoding
    }

    /// The payload's JSON, unsealed (the cookie store seals it itself), and whether
    /// it decodes back to exactly this payload.
    ///
    /// - Throws: ``SessionStoreError/Code/sessionTooLarge`` or ``SessionStoreError/Code/invalidData``, as ``encoded(_:under:)``.
    func encodedForCookie(_ payload: SessionPayload) throws(SessionStoreError) -> (bytes: [UInt8], readsBackIdentical: Bool) {
        guard let encoding = payload.readableEncoding() else {
            logger.error(
                "session not saved: a value nests arrays and objects too deep to be read back",
                metadata: ["sessionkit.store": "\(storeName)", "sessionkit.reason": "value-too-deep"]
            )
            throw SessionStoreError(
                code: .invalidData,
                storeName: storeName,
                message: "a session value nests arrays and objects deeper than \(JSONCodec.maximumDepth) levels; nothing was saved"
            )
        }
        try checkSize(encoding.bytes.count)
        return encoding
    }

    /// Refuses a record of `size` bytes past ``Configuration/maximumSessionSize``.
    private func checkSize(_ size: Int) throws(SessionStoreError) {
        let limit = configuration.maximumSessionSize
        guard size > limit else { return }
        logger.notice(
            "session not saved: larger than maximumSessionSize",
            metadata: ["sessionkit.store": "\(storeName)", "sessionkit.reason": "session-too-large", "sessionkit.size": "\(size)"]
        )
        throw SessionStoreError(
            code: .sessionTooLarge,
            storeName: storeName,
            message: "the session would be \(size) bytes, over maximumSessionSize (\(limit) bytes); nothing was saved"
        )
    }

    /// The decoder of stored records: opens a sealed record first when payloads are
    /// encrypted, then reads the JSON. `nil` for a record that does not open (logged
    /// at debug: tampered, moved to another key, sealed with a key no longer in the
    /// ring, or plain while plaintext is refused) or does not read (logged as a warning).
    static func recordDecoder(
        encryption: SessionPayloadEncryption?,
        storeName: String,
        logger: Logger
    ) -> @Sendable ([UInt8], SessionKey) -> SessionPayload? {
        { data, key in
            let payload: SessionPayload?
            if let encryption {
                switch encryption.open(data, under: key) {
                case .payload(let plaintext):
                    payload = SessionPayload(decoding: plaintext)
                case .refused(let reason):
                    logger.debug(
                        "encrypted session record did not open; treated as no session",
                        metadata: ["sessionkit.reason": "\(reason)", "sessionkit.session": "\(key.fingerprint)"]
                    )
                    return nil
                }
            } else {
                payload = SessionPayload(decoding: data)
            }
            if payload == nil {
                logger.warning(
                    "unreadable session record treated as no session",
                    metadata: ["sessionkit.store": "\(storeName)", "sessionkit.session": "\(key.fingerprint)"]
                )
            }
            return payload
        }
    }

    /// Deletes the record under `key`, instrumented, and its decoded copy.
    func deleteRecord(_ key: SessionKey) async throws {
        decodedRecords.forget(key)
        try await perform(.delete) { try await serverStore.delete(key) }
    }

    func refreshedCookies(_ token: SessionToken, secret: String?, expiresAt: Date, now: Date) -> [String] {
        // Only a cookie whose lifetime follows the session needs refreshing; the
        // others never change after they are first set.
        guard configuration.cookie.lifetime == .followsSession else { return [] }
        return [configuration.cookie.sessionCookie(value: token.cookieValue, expiresAt: expiresAt, now: now)]
            + xsrfCookie(secret: secret, expiresAt: expiresAt, now: now)
    }

    /// The readable `XSRF-TOKEN` cookie: a freshly masked token, living as long as the session cookie.
    func xsrfCookie(secret: String?, expiresAt: Date, now: Date) -> [String] {
        guard configuration.csrf.mode == .originAndToken, let secret, let masked = CSRFToken.mask(secret: secret) else { return [] }
        let cookieExpiry: Date?
        switch configuration.cookie.lifetime {
        case .followsSession: cookieExpiry = expiresAt
        case .browserSession: cookieExpiry = nil
        case .fixed(let duration): cookieExpiry = now + duration.seconds
        }
        return [configuration.cookie.readableCookie(name: configuration.csrf.cookieName, value: masked, expiresAt: cookieExpiry, now: now)]
    }

    /// Cookies that clear the session cookie and, with CSRF on, the `XSRF-TOKEN` cookie.
    func expiredCookies() -> [String] {
        var cookies = [configuration.cookie.expiredSessionCookie()]
        if configuration.csrf.mode == .originAndToken {
            cookies.append(configuration.cookie.expiredReadableCookie(name: configuration.csrf.cookieName))
        }
        return cookies
    }
}

/// What a commit did and the headers the response needs.
public struct SessionCommitResult: Sendable {
    /// What the commit did.
    public struct Action: Hashable, Sendable, CustomStringConvertible {
        private let name: String

        /// No store call was needed.
        public static let none = Action(name: "none")
        /// The idle expiry was extended.
        public static let touched = Action(name: "touched")
        /// Changes were saved to the existing session.
        public static let saved = Action(name: "saved")
        /// A new session was created.
        public static let created = Action(name: "created")
        /// The session moved to a new token.
        public static let regenerated = Action(name: "regenerated")
        /// The session was invalidated.
        public static let invalidated = Action(name: "invalidated")
        /// The session became empty and was deleted.
        public static let deleted = Action(name: "deleted")
        /// Another request removed the session meanwhile; this request's changes were dropped.
        public static let discarded = Action(name: "discarded")

        /// The action's name.
        public var description: String { name }
    }

    /// What the commit did.
    public var action: Action
    /// The token now in force, when the session exists after the commit.
    public var token: SessionToken?
    /// The session's expiry after the commit, when it exists.
    public var expiresAt: Date?
    /// The `Set-Cookie` header values to send, in order.
    public var setCookies: [String]

    /// Creates a result.
    ///
    /// - Parameters:
    ///   - action: What was done.
    ///   - token: The token in force.
    ///   - expiresAt: The session's expiry.
    ///   - setCookies: The `Set-Cookie` values.
    public init(action: Action, token: SessionToken? = nil, expiresAt: Date? = nil, setCookies: [String] = []) {
        self.action = action
        self.token = token
        self.expiresAt = expiresAt
        self.setCookies = setCookies
    }

    /// Whether the response depends on who asked: the request loaded a stored
    /// session or the response sets the session's cookies, and
    /// ``SessionEngine/Configuration/marksResponsesPrivate`` is on.
    public var isPrivate: Bool = false

    /// Every header to add to a response that has no `Vary` or `Cache-Control`
    /// of its own; see ``headers(vary:cacheControl:)``.
    public var headers: [(name: String, value: String)] {
        headers(vary: [], cacheControl: [])
    }

    /// The headers to add to a response that already carries these `Vary` and
    /// `Cache-Control` values.
    ///
    /// - The `Set-Cookie` lines, in order.
    /// - `Vary: Cookie` when the response ``isPrivate`` or sets cookies, unless a
    ///   `Vary` value already names `Cookie` or is `*`.
    /// - When the response has no `Cache-Control`: `private` for a private
    ///   response, with `no-cache="Set-Cookie"` added when it sets cookies (so no
    ///   cache hands one user's cookie to another); `no-cache="Set-Cookie"` alone
    ///   when it sets cookies but marking is off. An app's own `Cache-Control` is
    ///   left alone.
    ///
    /// - Parameters:
    ///   - vary: The response's `Vary` header values.
    ///   - cacheControl: The response's `Cache-Control` header values.
    /// - Returns: The headers to append, in order.
    public func headers(vary: [String], cacheControl: [String]) -> [(name: String, value: String)] {
        var headers = setCookies.map { (name: "Set-Cookie", value: $0) }
        guard isPrivate || !setCookies.isEmpty else { return headers }
        let variesAlready = vary.contains { value in
            value.split(separator: ",").contains { token in
                let token = token.trimmingCharacters(in: .whitespaces)
                return token == "*" || token.lowercased() == "cookie"
            }
        }
        if !variesAlready {
            headers.append((name: "Vary", value: "Cookie"))
        }
        if cacheControl.isEmpty {
            switch (isPrivate, setCookies.isEmpty) {
            case (true, true): headers.append((name: "Cache-Control", value: "private"))
            case (true, false): headers.append((name: "Cache-Control", value: "private, no-cache=\"Set-Cookie\""))
            case (false, _): headers.append((name: "Cache-Control", value: "no-cache=\"Set-Cookie\""))
            }
        }
        return headers
    }
}
