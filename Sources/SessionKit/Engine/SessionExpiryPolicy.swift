public import Foundation

/// The timeouts of a session and the sliding-window arithmetic on them.
///
/// A session expires after ``idleTimeout`` without activity, and in any case
/// ``absoluteTimeout`` after it was created (unless that is `nil`: then a
/// session lives as long as it is used); activity moves the idle expiry at
/// most once per ``touchInterval``, so an unchanged session costs no store
/// write on most requests. The engine uses it, and apps that keep sessions in
/// their own tables (oslo style) can use it directly — here oslo's own
/// policy, 30 days sliding, extended when less than 15 days are left, no
/// absolute limit:
///
/// ```swift
/// let policy = SessionExpiryPolicy(idleTimeout: .seconds(30 * 86_400), absoluteTimeout: nil, touchInterval: .seconds(15 * 86_400))
/// switch policy.validate(expiresAt: row.expiresAt, createdAt: row.createdAt, now: Date()) {
/// case .expired: try await db.deleteSession(row.id)
/// case .valid: break
/// case .extended(let newExpiry): try await db.updateExpiry(row.id, newExpiry)
/// }
/// ```
public struct SessionExpiryPolicy: Sendable, Hashable {
    /// How long a session lives without activity. Default 30 minutes.
    public var idleTimeout: Duration
    /// How long a session lives at most, counted from its creation and never
    /// extended (not even by regeneration); `nil` for no limit, so a session
    /// lives as long as it is used at least once per ``idleTimeout``. Default 7 days.
    ///
    /// - Warning: Without an absolute timeout a stolen session cookie that is
    ///   used regularly never expires; pair `nil` with a way to revoke sessions
    ///   (``SessionEngine/revokeSessions(of:except:)`` and regeneration at login).
    public var absoluteTimeout: Duration?
    /// The smallest extension worth writing back. Default 60 seconds.
    public var touchInterval: Duration

    /// Creates a policy.
    ///
    /// The values are checked by ``validate()``, which ``SessionEngine`` calls at
    /// start-up: an idle timeout longer than the absolute one is refused there,
    /// naming the setting, rather than quietly cut to the absolute timeout
    /// (`SessionExpiryPolicy(idleTimeout: .seconds(30 * 86_400))` alone keeps the
    /// default 7-day absolute timeout). Pass `absoluteTimeout: nil` for sliding
    /// sessions with no limit. Call ``validate()`` yourself when you use a policy
    /// without an engine.
    ///
    /// - Parameters:
    ///   - idleTimeout: How long a session lives without activity.
    ///   - absoluteTimeout: How long a session lives at most; `nil` for no limit.
    ///   - touchInterval: The smallest extension worth writing back.
    public init(
        idleTimeout: Duration = .seconds(30 * 60),
        absoluteTimeout: Duration? = .seconds(7 * 24 * 60 * 60),
        touchInterval: Duration = .seconds(60)
    ) {
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
        self.touchInterval = touchInterval
    }

    /// Checks the timeouts.
    ///
    /// - Throws: ``SessionConfigurationError`` naming `idleTimeout`,
    ///   `absoluteTimeout` or `touchInterval` when one is not positive, the idle
    ///   timeout exceeds the absolute one (which would silently cap every
    ///   session; set `absoluteTimeout` to `nil` for no limit), or the touch
    ///   interval is not shorter than the idle timeout.
    public func validate() throws(SessionConfigurationError) {
        guard idleTimeout > .zero else {
            throw SessionConfigurationError(setting: "idleTimeout", reason: "must be positive, got \(idleTimeout)")
        }
        if let absoluteTimeout {
            guard absoluteTimeout > .zero else {
                throw SessionConfigurationError(
                    setting: "absoluteTimeout",
                    reason: "must be positive, got \(absoluteTimeout) (nil means no absolute timeout)"
                )
            }
            guard idleTimeout <= absoluteTimeout else {
                throw SessionConfigurationError(
                    setting: "idleTimeout",
                    reason: "must not exceed absoluteTimeout (\(idleTimeout) > \(absoluteTimeout)); "
                        + "set absoluteTimeout to nil for no absolute timeout"
                )
            }
        }
        guard touchInterval >= .zero, touchInterval < idleTimeout else {
            throw SessionConfigurationError(
                setting: "touchInterval",
                reason: "must be at least zero and shorter than idleTimeout (\(idleTimeout)), got \(touchInterval)"
            )
        }
    }

    /// The expiry of a session active at `now`: the idle expiry, capped by the
    /// absolute one when there is one.
    ///
    /// - Parameters:
    ///   - createdAt: When the session was created.
    ///   - now: The moment of activity.
    public func expiry(createdAt: Date, now: Date) -> Date {
        let idle = now + idleTimeout.seconds
        guard let absoluteTimeout else { return idle }
        return min(idle, createdAt + absoluteTimeout.seconds)
    }

    /// Whether a session created at `createdAt` has passed its absolute timeout
    /// at `now`; always `false` without one.
    ///
    /// - Parameters:
    ///   - createdAt: When the session was created.
    ///   - now: The current time.
    public func isPastAbsoluteTimeout(createdAt: Date, now: Date) -> Bool {
        guard let absoluteTimeout else { return false }
        return createdAt + absoluteTimeout.seconds <= now
    }

    /// Checks a stored expiry at `now` with a sliding window.
    ///
    /// - Parameters:
    ///   - expiresAt: The expiry kept with the session.
    ///   - createdAt: When the session was created.
    ///   - now: The current time.
    /// - Returns: ``SessionExpiryDecision/expired`` when either timeout has
    ///   passed; ``SessionExpiryDecision/extended(to:)`` when activity now moves
    ///   the expiry by at least ``touchInterval`` (write the new expiry back);
    ///   ``SessionExpiryDecision/valid`` otherwise.
    public func validate(expiresAt: Date, createdAt: Date, now: Date) -> SessionExpiryDecision {
        if expiresAt <= now || isPastAbsoluteTimeout(createdAt: createdAt, now: now) { return .expired }
        let extended = expiry(createdAt: createdAt, now: now)
        if extended.timeIntervalSince(expiresAt) >= touchInterval.seconds { return .extended(to: extended) }
        return .valid
    }

    /// Creates a token and the expiry of a new session, for apps that keep
    /// sessions in their own tables: store ``IssuedSessionToken/key`` (never the
    /// token) with the user id, and send ``IssuedSessionToken/token`` in a cookie.
    ///
    /// - Parameter now: The creation time.
    public func issueToken(now: Date) -> IssuedSessionToken {
        let token = SessionToken.generate()
        return IssuedSessionToken(token: token, key: token.key, createdAt: now, expiresAt: expiry(createdAt: now, now: now))
    }
}

/// The result of checking a stored expiry with ``SessionExpiryPolicy/validate(expiresAt:createdAt:now:)``.
public enum SessionExpiryDecision: Sendable, Hashable {
    /// The session has expired: treat it as absent and delete it.
    case expired
    /// The session is valid and its expiry need not be written.
    case valid
    /// The session is valid and its expiry moved: write the new expiry back.
    case extended(to: Date)
}

/// A new session's token, the key to store it under, and its expiry.
public struct IssuedSessionToken: Sendable, Hashable {
    /// The secret to send to the client; never store it.
    public var token: SessionToken
    /// The hashed id to store.
    public var key: SessionKey
    /// When the session was created.
    public var createdAt: Date
    /// When the session expires unless extended.
    public var expiresAt: Date
}

extension Duration {
    /// The duration in seconds, fractions kept.
    var seconds: Double { self / .seconds(1) }
}
