public import Foundation

/// A failure of a session store: the store could not be reached, timed out, or
/// kept failing to accept a write.
///
/// It carries the store's ``SessionStore/name`` so an operator can tell which
/// backend failed, a message saying what went wrong and how it may be remedied,
/// and the underlying error. Its `description` never contains a session token,
/// a cookie value or a key. Adapters answer it with its ``response``: `503
/// Service Unavailable`, `413 Content Too Large` for ``Code/sessionTooLarge``
/// (the request's doing), or `409 Conflict` for ``Code/sessionEnded``.
public struct SessionStoreError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case unavailable
            case timedOut
            case conflictRetriesExhausted
            case invalidData
            case tooLarge
            case unsupported
            case overloaded
            case sessionTooLarge
            case sessionEnded
        }

        private let base: Base

        /// The store could not be reached or failed to perform the operation.
        public static var unavailable: Code { .init(base: .unavailable) }
        /// The store did not answer within its timeout.
        public static var timedOut: Code { .init(base: .timedOut) }
        /// Concurrent writers kept winning the compare-and-swap race and the engine gave up.
        public static var conflictRetriesExhausted: Code { .init(base: .conflictRetriesExhausted) }
        /// The store was handed data it cannot keep (for example an invalid expiry).
        public static var invalidData: Code { .init(base: .invalidData) }
        /// The record is larger than the store can keep.
        public static var tooLarge: Code { .init(base: .tooLarge) }
        /// The store does not support the requested capability.
        public static var unsupported: Code { .init(base: .unsupported) }
        /// The engine already had its maximum of store operations in flight
        /// (``SessionEngine/Configuration/maximumInFlightStoreOperations``); the
        /// request was refused at once rather than queued behind a slow store.
        public static var overloaded: Code { .init(base: .overloaded) }
        /// The session's encoded record is larger than
        /// ``SessionEngine/Configuration/maximumSessionSize``: the request asked
        /// to keep more than a session may hold. Nothing was written; the stored
        /// session is as it was. Unlike the other codes this is the client's
        /// doing, not the store's, and adapters answer it with `413 Content Too Large`.
        public static var sessionTooLarge: Code { .init(base: .sessionTooLarge) }
        /// The session ended while the request ran (another request regenerated
        /// it at login, invalidated it, or it was revoked), so the request's
        /// changes could not be saved. Nothing was written. Adapters answer
        /// `409 Conflict` (see ``SessionStoreError/response``): the client's
        /// write did not happen and may be retried with the cookie it holds now.
        public static var sessionEnded: Code { .init(base: .sessionEnded) }

        /// The code's name, for example `unavailable`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The failing store's name, for example `memory` or `file`.
    public var storeName: String
    /// What went wrong and, where possible, how to remedy it.
    public var message: String
    /// The underlying error, kept as it was thrown.
    public var cause: (any Error)?

    /// Creates a store error.
    ///
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - storeName: The failing store's ``SessionStore/name``.
    ///   - message: What went wrong and how it may be remedied. Never include a token or key.
    ///   - cause: The underlying error, if any.
    public init(code: Code, storeName: String, message: String, cause: (any Error)? = nil) {
        self.code = code
        self.storeName = storeName
        self.message = message
        self.cause = cause
    }

    /// The short text an adapter sends in the response body: names the store, never a token or key.
    public var responseMessage: String {
        switch code {
        case .sessionTooLarge: return "session too large: \(message)"
        case .tooLarge, .invalidData: return "session store '\(storeName)' refused the session: \(message)"
        case .conflictRetriesExhausted: return "session store '\(storeName)' busy: too many concurrent changes to this session"
        case .overloaded: return "session store '\(storeName)' overloaded: too many operations in flight"
        case .sessionEnded:
            return "the session ended while this request ran (signed in, signed out or revoked elsewhere); its changes were not saved"
        default: return "session store '\(storeName)' unavailable"
        }
    }

    /// `"<code>: session store '<name>': <message> (<cause>)"`.
    public var description: String {
        var text = "\(code): session store '\(storeName)': \(message)"
        if let cause { text += " (\(cause))" }
        return text
    }
}

/// A configuration value that cannot work, reported at start-up.
///
/// The error names the setting and the rule it breaks, for example
/// `cookie.sameSite: SameSite=None requires secure = true (browsers reject it otherwise)`.
public struct SessionConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The setting that is wrong, for example `cookie.name` or `SESSION_IDLE_TIMEOUT`.
    public var setting: String
    /// Why the value is refused.
    public var reason: String

    /// Creates a configuration error.
    ///
    /// - Parameters:
    ///   - setting: The name of the setting, as the user wrote it.
    ///   - reason: Why the value cannot be used and what would work instead.
    public init(setting: String, reason: String) {
        self.setting = setting
        self.reason = reason
    }

    /// `"invalid configuration: <setting>: <reason>"`.
    public var description: String { "invalid configuration: \(setting): \(reason)" }
}
