#if Postgres
import SessionKit

extension PostgresStore {
    /// Settings for a ``PostgresStore``: which table holds the sessions, and its
    /// timeouts and sweep.
    ///
    /// Where the server is and how to log in belong to the `PostgresClient` you
    /// pass to the store; build its configuration from a `DATABASE_URL` with
    /// ``PostgresStore/clientConfiguration(url:)``.
    public struct Configuration: Sendable {
        /// The schema that holds the table. A PostgreSQL identifier: a letter or
        /// underscore, then letters, digits or underscores, at most 63 characters.
        /// The store quotes it, so its case is kept.
        public var schema: String
        /// The table that holds the sessions, with the same rules as ``schema`` but
        /// at most 48 characters, so the index name `<table>_expires_at_idx` fits
        /// PostgreSQL's 63-character limit.
        public var table: String
        /// How often ``PostgresStore/run()`` deletes expired rows. Must be positive.
        public var sweepInterval: Duration
        /// How long one operation may take, from waiting for a pooled connection to
        /// reading the reply. Must be positive.
        ///
        /// An operation that takes longer fails with
        /// ``SessionKit/SessionStoreError/Code/timedOut``; if it had a connection by
        /// then, that connection is closed, so a stuck query cannot hold it. A
        /// timed-out save may or may not have been applied.
        public var operationTimeout: Duration
        /// Whether the store creates its table and index (`CREATE ... IF NOT EXISTS`)
        /// before first use. Turn it off when migrations create the table and the
        /// database user may not run DDL.
        public var createTableIfMissing: Bool

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - schema: The schema that holds the table. Defaults to `public`.
        ///   - table: The table that holds the sessions. Defaults to `sessionkit_sessions`.
        ///   - sweepInterval: How often ``PostgresStore/run()`` deletes expired rows.
        ///     Defaults to 5 minutes.
        ///   - operationTimeout: How long one operation may take. Defaults to 2 seconds.
        ///   - createTableIfMissing: Whether the store creates its table. Defaults to `true`.
        public init(
            schema: String = "public",
            table: String = "sessionkit_sessions",
            sweepInterval: Duration = .seconds(300),
            operationTimeout: Duration = .seconds(2),
            createTableIfMissing: Bool = true
        ) {
            self.schema = schema
            self.table = table
            self.sweepInterval = sweepInterval
            self.operationTimeout = operationTimeout
            self.createTableIfMissing = createTableIfMissing
        }

        /// Throws the first setting that cannot work.
        func validate() throws(SessionConfigurationError) {
            try Self.validateIdentifier(schema, setting: "PostgresStore.schema", maximumLength: 63)
            try Self.validateIdentifier(table, setting: "PostgresStore.table", maximumLength: 48)
            guard sweepInterval > .zero else {
                throw SessionConfigurationError(
                    setting: "PostgresStore.sweepInterval",
                    reason: "must be positive, got \(sweepInterval)"
                )
            }
            guard operationTimeout > .zero else {
                throw SessionConfigurationError(
                    setting: "PostgresStore.operationTimeout",
                    reason: "must be positive, got \(operationTimeout)"
                )
            }
        }

        /// Accepts only plain identifiers, because the name is written into SQL
        /// (table names cannot be bind parameters).
        private static func validateIdentifier(
            _ name: String,
            setting: String,
            maximumLength: Int
        ) throws(SessionConfigurationError) {
            let utf8 = Array(name.utf8)
            func isLetter(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || byte == 0x5F }
            func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
            guard let first = utf8.first, isLetter(first), utf8.allSatisfy({ isLetter($0) || isDigit($0) }) else {
                throw SessionConfigurationError(
                    setting: setting,
                    reason: "must be a letter or underscore followed by letters, digits or underscores, got \"\(name)\""
                )
            }
            guard utf8.count <= maximumLength else {
                throw SessionConfigurationError(
                    setting: setting,
                    reason: "must be at most \(maximumLength) characters, got \(utf8.count)"
                )
            }
        }
    }
}
#endif  // Postgres
