public import Foundation
import Synchronization

/// One request's view of its session: read and change values, flash messages,
/// regenerate or invalidate.
///
/// The engine loads the session before the handler runs, so every method here
/// is synchronous and cannot fail; store failures surface once, in the
/// middleware, as `503`. The object is a reference shared by every copy of the
/// request context, and safe to use from several tasks of one request.
///
/// Every change is also recorded as a ``SessionOperation``: when another
/// request changed the same session meanwhile, the engine replays these on the
/// fresher record instead of overwriting it.
///
/// It does not write anything itself: ``SessionEngine/commit(_:)`` does, after
/// the handler returns, and only when something changed (lazy sessions: a
/// request that writes nothing creates no record and sets no cookie).
///
/// ```swift
/// router.post("/login") { request, context in
///     context.session.regenerate()
///     context.session.put("user", .string(name))
///     context.session.flash("success", "Welcome, \(name)")
///     return "ok"
/// }
/// ```
public final class RequestSession: Sendable {
    /// What the engine loaded; fixed for the request.
    struct Origin: Sendable {
        var token: SessionToken?
        var stored: StoredSession?
        var payload: SessionPayload?
        /// Whether the request carried a well-formed session cookie (known to the store or not).
        var hadCookie = false
        /// With the ``CookieStore``: the expiry sealed in the cookie.
        var sealedExpiresAt: Date?
        /// The client's user agent and address, recorded on new sessions when the configuration asks.
        var client: SessionClient?
    }

    struct State: Sendable {
        var payload: SessionPayload
        var operations: [SessionOperation] = []
        var isRegenerated = false
        var isInvalidated = false
        var isExplicitlyStarted = false
    }

    let origin: Origin
    let state: Mutex<State>

    init(origin: Origin, createdAt: Double) {
        self.origin = origin
        self.state = Mutex(State(payload: origin.payload ?? SessionPayload(createdAt: createdAt)))
    }

    /// Creates a session that is not attached to any engine or request.
    ///
    /// Changes to it are never saved. Request contexts start with one and the
    /// middleware replaces it with the request's loaded session.
    public convenience init() {
        self.init(origin: Origin(), createdAt: 0)
    }

    // MARK: Reading

    /// The value under `key`, or `nil` when the key is absent.
    ///
    /// - Parameter key: The key.
    public func get(_ key: String) -> SessionValue? {
        state.withLock { $0.payload.values[key] }
    }

    /// The value under `key`, or `defaultValue` when the key is absent.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - defaultValue: What to return when the key is absent.
    public func get(_ key: String, default defaultValue: SessionValue) -> SessionValue {
        get(key) ?? defaultValue
    }

    /// The value under `key` decoded as `type`, or `nil` when the key is absent or null.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - type: The `Decodable` type to decode, through the value's JSON form.
    /// - Throws: `DecodingError` when the stored value does not have the type's shape.
    public func get<T: Decodable>(_ key: String, as type: T.Type) throws -> T? {
        guard let value = get(key), !value.isNull else { return nil }
        return try value.decode(as: T.self)
    }

    /// The value under `key` decoded as `type`, or `defaultValue` when the key is
    /// absent or null, or holds a value of another shape.
    ///
    /// Unlike ``get(_:as:)`` it does not throw: it is for reads where a fallback
    /// is the right answer (a theme, a page size). Use ``get(_:as:)`` when a
    /// value of the wrong shape must be noticed.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - type: The `Decodable` type to decode, through the value's JSON form.
    ///   - defaultValue: What to return when there is no value of that type.
    public func get<T: Decodable>(_ key: String, as type: T.Type, default defaultValue: T) -> T {
        (try? get(key, as: T.self)).flatMap { $0 } ?? defaultValue
    }

    /// The value under `key`: reading is ``get(_:)``; assigning a value is
    /// ``put(_:_:)`` and assigning `nil` is ``forget(_:)-(String)``.
    ///
    /// `session["user"] = nil` removes the key; to keep a JSON null, assign
    /// ``SessionValue/null``.
    ///
    /// - Parameter key: The key.
    public subscript(key: String) -> SessionValue? {
        get { get(key) }
        set {
            if let newValue { put(key, newValue) } else { forget(key) }
        }
    }

    /// Whether `key` is present and not null.
    ///
    /// - Parameter key: The key.
    public func has(_ key: String) -> Bool {
        guard let value = get(key) else { return false }
        return !value.isNull
    }

    /// Whether `key` is present, even when its value is null.
    ///
    /// - Parameter key: The key.
    public func exists(_ key: String) -> Bool {
        get(key) != nil
    }

    /// Whether `key` is absent (the opposite of ``exists(_:)``).
    ///
    /// - Parameter key: The key.
    public func missing(_ key: String) -> Bool {
        !exists(key)
    }

    /// Every key and value.
    public func all() -> [String: SessionValue] {
        state.withLock { $0.payload.values }
    }

    /// The keys and values among `keys` that are present.
    ///
    /// - Parameter keys: The keys to keep.
    public func only(_ keys: [String]) -> [String: SessionValue] {
        state.withLock { state in state.payload.values.filter { keys.contains($0.key) } }
    }

    /// Every key and value except those in `keys`.
    ///
    /// - Parameter keys: The keys to leave out.
    public func except(_ keys: [String]) -> [String: SessionValue] {
        state.withLock { state in state.payload.values.filter { !keys.contains($0.key) } }
    }

    /// A flashed value (flashed by the previous request, by this one, or set
    /// with ``now(_:_:)``), or `defaultValue` when `key` is not a flashed key.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - defaultValue: What to return when there is no such flashed value.
    public func getFlash(_ key: String, default defaultValue: SessionValue? = nil) -> SessionValue? {
        state.withLock { state in
            let payload = state.payload
            guard payload.flashOld.contains(key) || payload.flashNew.contains(key) else { return defaultValue }
            return payload.values[key] ?? defaultValue
        }
    }

    // MARK: Writing

    /// Stores `value` under `key`.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - value: The value.
    public func put(_ key: String, _ value: SessionValue) {
        record(.set(key, value))
    }

    /// Stores every key and value of `values`.
    ///
    /// - Parameter values: The keys and values.
    public func put(_ values: [String: SessionValue]) {
        state.withLock { state in
            for (key, value) in values.sorted(by: { $0.key < $1.key }) { state.apply(.set(key, value)) }
        }
    }

    /// Stores an `Encodable` value under `key`, through its JSON form.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - value: The value; read it back with ``get(_:as:)``.
    /// - Throws: `EncodingError` when the value cannot be encoded as JSON.
    public func put(_ key: String, encoding value: some Encodable) throws {
        record(.set(key, try SessionValue(encoding: value)))
    }

    /// Appends `value` to the array under `key`.
    ///
    /// A missing or null value starts a new array; any other value becomes the
    /// array's first element.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - value: The element to append.
    public func push(_ key: String, _ value: SessionValue) {
        record(.push(key, value))
    }

    /// Adds `amount` to the integer under `key` and returns the result.
    ///
    /// A missing or non-integer value counts as zero; the sum saturates at
    /// `Int64.max` / `Int64.min`. Concurrent increments of one session from
    /// several requests all land (the engine replays them on conflict).
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - amount: What to add (default 1).
    /// - Returns: The new value.
    @discardableResult
    public func increment(_ key: String, by amount: Int64 = 1) -> Int64 {
        state.withLock { state in
            state.apply(.increment(key, by: amount))
            return state.payload.values[key]?.intValue ?? 0
        }
    }

    /// Subtracts `amount` from the integer under `key` and returns the result.
    ///
    /// Like ``increment(_:by:)``, a missing or non-integer value counts as zero
    /// and the result saturates at `Int64.max` / `Int64.min`.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - amount: What to subtract (default 1).
    /// - Returns: The new value.
    @discardableResult
    public func decrement(_ key: String, by amount: Int64 = 1) -> Int64 {
        guard amount == .min else { return increment(key, by: -amount) }
        // `-Int64.min` does not exist: subtract it as `Int64.max` plus one, each
        // step saturating, which is exact whenever the true result fits.
        return state.withLock { state in
            state.apply(.increment(key, by: .max))
            state.apply(.increment(key, by: 1))
            return state.payload.values[key]?.intValue ?? 0
        }
    }

    /// Removes `key`.
    ///
    /// - Parameter key: The key.
    public func forget(_ key: String) {
        record(.remove(key))
    }

    /// Removes every key in `keys`.
    ///
    /// - Parameter keys: The keys.
    public func forget(_ keys: [String]) {
        state.withLock { state in
            for key in keys { state.apply(.remove(key)) }
        }
    }

    /// Removes `key` and returns the value it had, or `defaultValue` when it was absent.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - defaultValue: What to return when the key is absent.
    @discardableResult
    public func pull(_ key: String, default defaultValue: SessionValue? = nil) -> SessionValue? {
        state.withLock { state in
            let value = state.payload.values[key]
            state.apply(.remove(key))
            return value ?? defaultValue
        }
    }

    /// Removes every value, flashed ones included, and the owner binding.
    ///
    /// A session left empty at the end of the request is deleted from the
    /// store and its cookie expired.
    public func flush() {
        record(.flush)
    }

    /// Stores `value` under `key` for this request and the next one only (Laravel's flash).
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - value: The value.
    public func flash(_ key: String, _ value: SessionValue) {
        record(.flash(key, value))
    }

    /// Stores `value` under `key` for this request only.
    ///
    /// - Parameters:
    ///   - key: The key.
    ///   - value: The value.
    public func now(_ key: String, _ value: SessionValue) {
        record(.now(key, value))
    }

    /// Keeps every value flashed by the previous request for one more request.
    public func reflash() {
        record(.reflash)
    }

    /// Keeps the flashed values under `keys` for one more request.
    ///
    /// - Parameter keys: The flashed keys to keep.
    public func keep(_ keys: [String]) {
        record(.keep(keys))
    }

    // MARK: Lifecycle

    /// Whether the session exists: it was loaded from the store, or this request
    /// has started it (by writing to it or calling ``start()``).
    public var isStarted: Bool {
        state.withLock { state in
            origin.stored != nil || origin.sealedExpiresAt != nil || state.isExplicitlyStarted || !state.operations.isEmpty || state.isInvalidated
        }
    }

    /// Whether the session was loaded from the store for this request.
    public var isLoaded: Bool { origin.stored != nil || origin.sealedExpiresAt != nil }

    /// Whether this request changed the session.
    public var isModified: Bool {
        state.withLock { !$0.operations.isEmpty || $0.isRegenerated || $0.isInvalidated }
    }

    /// Starts the session even if nothing is written to it, so the response sets a cookie.
    public func start() {
        state.withLock { $0.isExplicitlyStarted = true }
    }

    /// Gives the session a new token, keeping its data (call it at login: session fixation defence).
    ///
    /// At commit the data moves under the new token and the old record is
    /// deleted; a CSRF secret, if any, is rotated too, so a request that still carries the old cookie has no session.
    /// The absolute timeout still counts from the session's creation.
    public func regenerate() {
        state.withLock { state in
            state.isRegenerated = true
            // A new session id comes with a new CSRF secret: a token leaked before login is useless after.
            if state.payload.values[CSRFToken.sessionKey] != nil {
                state.apply(.set(CSRFToken.sessionKey, .string(CSRFToken.generateSecret())))
            }
        }
    }

    /// Gives the session a new token and binds it to `owner`, in one call (call it at login).
    ///
    /// Binding and regenerating together means fixation protection and the
    /// owner index ("log out my other devices") cannot be forgotten separately.
    /// ``SessionEngine/sessions(of:current:)`` then lists this session under `owner`.
    ///
    /// - Parameter owner: The signed-in user's id.
    public func regenerate(owner: String) {
        regenerate()
        record(.bindOwner(owner))
    }

    /// The owner the session is bound to, if any (see ``regenerate(owner:)``).
    public var owner: String? {
        state.withLock { $0.payload.owner }
    }

    /// Removes every value and gives the session a new token (call it at logout).
    ///
    /// At commit the old record is deleted. If the session had a CSRF secret,
    /// the fresh session gets a new one (so it is created, with a new cookie). Values written after this call
    /// start a fresh session under the new token.
    public func invalidate() {
        state.withLock { state in
            state.isInvalidated = true
            state.isRegenerated = false
            let hadCSRFSecret = state.payload.values[CSRFToken.sessionKey] != nil
            state.operations = []
            state.payload = SessionPayload(createdAt: state.payload.createdAt)
            // The fresh session gets a fresh CSRF secret, so the page shown after
            // logout can post again (Laravel keeps a token across logout the same way).
            if hadCSRFSecret { state.apply(.set(CSRFToken.sessionKey, .string(CSRFToken.generateSecret()))) }
        }
    }

    /// Whether this request invalidated the session (``invalidate()``), which signs it out.
    ///
    /// The adapters' authenticators read it after the handler: a session the
    /// handler ended is not bound to the user again.
    package var isInvalidated: Bool {
        state.withLock { $0.isInvalidated }
    }

    /// The operations this request recorded, in order.
    package var operations: [SessionOperation] {
        state.withLock { $0.operations }
    }

    private func record(_ operation: SessionOperation) {
        state.withLock { $0.apply(operation) }
    }
}

extension RequestSession.State {
    mutating func apply(_ operation: SessionOperation) {
        operations.append(operation)
        payload.apply(operation)
    }
}
