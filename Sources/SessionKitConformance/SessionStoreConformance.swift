public import SessionKit

/// The behaviours every ``SessionKit/SessionStore`` must have, as checks any test
/// framework can run.
///
/// The suite imports no test framework: a check either returns or throws, a
/// ``ConformanceFailure`` for a broken rule or the store's own error when it
/// fails. Each check asks for a store once and works on fresh random keys, so
/// one shared store (a Redis database, a SQL table) can serve every check, and
/// checks can run in parallel. The checks use the wall clock (`Date()`): records
/// meant to be live expire minutes ahead and expired ones are saved with an
/// expiry seconds in the past, so nothing sleeps. A store under test must
/// therefore use a clock close to the system clock.
///
/// ```swift
/// import SessionKitConformance
/// import Testing
///
/// @Test(arguments: SessionStoreConformance.checks)
/// func myStoreConforms(_ check: SessionStoreConformance.Check) async throws {
///     try await check.run { try await MyStore.forTesting() }
/// }
/// ```
public enum SessionStoreConformance {
    /// One named behaviour of the store contract.
    public struct Check: Sendable, CustomStringConvertible {
        /// What the check verifies, as a sentence fragment, for example
        /// `update with a stale version conflicts`.
        public let name: String

        private let body: @Sendable (any SessionStore) async throws -> Void

        init(_ name: String, _ body: @escaping @Sendable (any SessionStore) async throws -> Void) {
            self.name = name
            self.body = body
        }

        /// The check's name.
        public var description: String { name }

        /// Runs the check against a store.
        ///
        /// - Parameter makeStore: Makes the store to check; called once per run.
        /// - Throws: ``ConformanceFailure`` when the store breaks the contract, or
        ///   whatever the store or `makeStore` throws.
        public func run(_ makeStore: @Sendable () async throws -> any SessionStore) async throws {
            let store = try await makeStore()
            do {
                try await body(store)
            } catch var failure as ConformanceFailure {
                failure.check = name
                throw failure
            }
        }
    }

    /// Every check: the store's own contract (``storeChecks``), what users see
    /// through a ``SessionKit/SessionEngine`` running over the store
    /// (``engineChecks``, and ``encryptedEngineChecks`` with payload encryption
    /// on), and the owner index (``ownerIndexChecks``), which every built-in
    /// server-side store implements.
    public static var checks: [Check] {
        coreChecks + ownerIndexChecks
    }

    /// The checks for a store without an owner index: ``storeChecks``,
    /// ``engineChecks`` and ``encryptedEngineChecks``.
    public static var coreChecks: [Check] {
        storeChecks + engineChecks + encryptedEngineChecks
    }
}

/// A store broke a rule of the ``SessionKit/SessionStore`` contract.
public struct ConformanceFailure: Error, CustomStringConvertible, Sendable {
    /// The name of the check that failed.
    public internal(set) var check: String
    /// What the store did and what the contract requires.
    public let message: String
    /// The source file of the failed expectation, as `#fileID`.
    public let file: String
    /// The line of the failed expectation.
    public let line: Int

    init(check: String = "", message: String, file: String, line: Int) {
        self.check = check
        self.message = message
        self.file = file
        self.line = line
    }

    /// `"<check>: <message> (<file>:<line>)"`.
    public var description: String { "\(check): \(message) (\(file):\(line))" }
}

/// Throws a ``ConformanceFailure`` with `message` unless `condition` holds.
func expect(
    _ condition: Bool,
    _ message: @autoclosure () -> String,
    file: String = #fileID,
    line: Int = #line
) throws(ConformanceFailure) {
    guard condition else {
        throw ConformanceFailure(message: message(), file: file, line: line)
    }
}

/// Makes a ``ConformanceFailure`` with `message`, for a `throw` after a `guard`.
func fail(_ message: String, file: String = #fileID, line: Int = #line) -> ConformanceFailure {
    ConformanceFailure(message: message, file: file, line: line)
}
