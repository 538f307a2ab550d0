#if SQLite
import SessionKit

extension SQLiteStore {
    /// Settings for a ``SQLiteStore``.
    public struct Configuration: Sendable {
        /// The table that holds the sessions: 1 to 64 ASCII letters, digits and
        /// underscores, not starting with a digit or `sqlite_`.
        ///
        /// Several stores (or an application's own tables) can share one database
        /// file as long as each store has its own table.
        public var tableName: String
        /// How often ``SQLiteStore/run()`` removes expired rows. Must be positive.
        public var sweepInterval: Duration
        /// How long a statement waits for another connection (another process, or
        /// another store on the same file) to release its lock before failing with
        /// ``SessionKit/SessionStoreError/Code/unavailable``.
        ///
        /// Zero fails at once when the database is locked. Must not be negative
        /// and at most about 24 days (`Int32.max` milliseconds).
        public var busyTimeout: Duration

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - tableName: The table that holds the sessions. Defaults to `sessionkit_sessions`.
        ///   - sweepInterval: How often ``SQLiteStore/run()`` removes expired rows.
        ///     Defaults to 5 minutes.
        ///   - busyTimeout: How long a statement waits for a lock held by another
        ///     connection. Defaults to 5 seconds.
        public init(
            tableName: String = "sessionkit_sessions",
            sweepInterval: Duration = .seconds(300),
            busyTimeout: Duration = .seconds(5)
        ) {
            self.tableName = tableName
            self.sweepInterval = sweepInterval
            self.busyTimeout = busyTimeout
        }

        /// The busy timeout in whole milliseconds, for `PRAGMA busy_timeout`.
        var busyTimeoutMilliseconds: Int {
            Int((busyTimeout / .milliseconds(1)).rounded(.up))
        }

        /// Throws when a setting cannot work.
        func validate() throws(SessionConfigurationError) {
            try Self.validateTableName(tableName)
            guard sweepInterval > .zero else {
                throw SessionConfigurationError(
                    setting: "SQLiteStore.sweepInterval",
                    reason: "must be positive, got \(sweepInterval)"
                )
            }
            guard busyTimeout >= .zero, busyTimeout <= .milliseconds(Int32.max) else {
                throw SessionConfigurationError(
                    setting: "SQLiteStore.busyTimeout",
                    reason: "must be between zero and \(Int32.max) milliseconds, got \(busyTimeout)"
                )
            }
        }

        /// Checks that `name` can be put between double quotes in SQL as it is.
        ///
        /// The name is interpolated into every statement (SQL has no parameters for
        /// identifiers), so only a conservative alphabet is accepted.
        private static func validateTableName(_ name: String) throws(SessionConfigurationError) {
            let setting = "SQLiteStore.tableName"
            let utf8 = Array(name.utf8)
            guard (1...64).contains(utf8.count) else {
                throw SessionConfigurationError(setting: setting, reason: "must be 1 to 64 characters long, got \(utf8.count)")
            }
            func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F }
            func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
            guard isLetter(utf8[0]), utf8.allSatisfy({ isLetter($0) || isDigit($0) }) else {
                throw SessionConfigurationError(
                    setting: setting,
                    reason: "'\(name)' must contain only ASCII letters, digits and underscores, and not start with a digit"
                )
            }
            guard !name.lowercased().hasPrefix("sqlite_") else {
                throw SessionConfigurationError(setting: setting, reason: "'\(name)' starts with 'sqlite_', which SQLite reserves")
            }
            guard name.lowercased() != SQLiteSchema.versionTable else {
                throw SessionConfigurationError(
                    setting: setting,
                    reason: "'\(name)' is the table where the store records schema versions; choose another name"
                )
            }
        }
    }
}
#endif  // SQLite
