#if Postgres
import Foundation
public import PostgresNIO
public import SessionKit

extension PostgresStore {
    /// Builds a `PostgresClient` configuration from a `DATABASE_URL`-style URL.
    ///
    /// The URL has the form libpq and most hosting platforms use:
    /// `postgres://user[:password]@host[:port][/database][?parameters]`
    /// (`postgresql://` also works). The user name, password and database may be
    /// percent-encoded (`p%40ss` for `p@ss`); an IPv6 address goes in brackets
    /// (`[::1]`); a percent-encoded absolute path as the host
    /// (`postgres://user@%2Fvar%2Frun%2Fpostgresql/db`) is the directory of the
    /// server's Unix socket, as in libpq. The port defaults to 5432 and the
    /// database to the server's default (the user's name).
    ///
    /// Parameters:
    /// - `sslmode`: `disable` (plain TCP); `prefer`, the default, (TLS when the
    ///   server offers it); or `require`, `verify-ca` or `verify-full` (TLS or no
    ///   connection). Whenever TLS is used the server's certificate and host name
    ///   are verified against the system's trust roots, which is stricter than
    ///   libpq's `prefer` and `require`; to trust another CA, set the returned
    ///   configuration's `tls` yourself.
    /// - `connect_timeout`: seconds a TCP connection may take to open (a positive
    ///   whole number). PostgresNIO's default is 10 seconds.
    /// - `application_name`: the name the server shows in `pg_stat_activity`.
    ///
    /// ```swift
    /// let configuration = try PostgresStore.clientConfiguration(url: databaseURL)
    /// let client = PostgresClient(configuration: configuration)
    /// let store = try PostgresStore(client: client)
    /// // Run `client.run()` and `store.run()`, for example in a service group.
    /// ```
    ///
    /// - Parameter url: The URL, for example the `DATABASE_URL` environment variable.
    /// - Returns: A client configuration with PostgresNIO's defaults for every
    ///   setting the URL does not name.
    /// - Throws: ``SessionKit/SessionConfigurationError`` naming `DATABASE_URL` when
    ///   the URL is not of that form: another scheme, no user name or host,
    ///   several hosts, a port outside 1–65535, bad percent-encoding, a path with
    ///   more than a database name, or an unknown parameter or value. The error
    ///   never repeats the password.
    public static func clientConfiguration(url: String) throws(SessionConfigurationError) -> PostgresClient.Configuration {
        let parsed = try PostgresURL(parsing: url)
        var configuration: PostgresClient.Configuration
        switch parsed.address {
        case .tcp(let host, let port):
            let tls: PostgresClient.Configuration.TLS
            switch parsed.tlsMode {
            case .disable: tls = .disable
            case .prefer: tls = .prefer(.makeClientConfiguration())
            case .require: tls = .require(.makeClientConfiguration())
            }
            configuration = PostgresClient.Configuration(
                host: host,
                port: port,
                username: parsed.username,
                password: parsed.password,
                database: parsed.database,
                tls: tls
            )
        case .unixSocket(let path):
            configuration = PostgresClient.Configuration(
                unixSocketPath: path,
                username: parsed.username,
                password: parsed.password,
                database: parsed.database
            )
        }
        if let connectTimeout = parsed.connectTimeout {
            configuration.options.connectTimeout = connectTimeout
        }
        if let applicationName = parsed.applicationName {
            configuration.options.additionalStartupParameters.append(("application_name", applicationName))
        }
        return configuration
    }
}

/// The parts of a `postgres://` URL.
struct PostgresURL: Sendable {
    enum Address: Hashable, Sendable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    enum TLSMode: Hashable, Sendable {
        case disable
        case prefer
        case require
    }

    var address: Address
    var username: String
    var password: String?
    var database: String?
    var tlsMode: TLSMode = .prefer
    var connectTimeout: Duration?
    var applicationName: String?

    private static func invalid(_ reason: String) -> SessionConfigurationError {
        SessionConfigurationError(setting: "DATABASE_URL", reason: reason)
    }

    private static let form = "postgres://user:password@host:port/database"

    /// Parses a URL. Errors describe the rule broken and never quote the part of
    /// the URL before the host, which may hold a password.
    init(parsing url: String) throws(SessionConfigurationError) {
        let text = Substring(url)
        guard let schemeEnd = text.firstRange(of: "://") else {
            throw Self.invalid("must be a URL of the form \(Self.form)")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw Self.invalid("the scheme must be postgres:// or postgresql://")
        }
        var rest = text[schemeEnd.upperBound...]

        // The user information ends at the last `@`, so a password with a raw `@`,
        // `/` or `?` still parses, and nothing after this point can hold the password.
        guard let at = rest.lastIndex(of: "@") else {
            throw Self.invalid("has no user name; write \(Self.form)")
        }
        let userInfo = rest[..<at]
        rest = rest[rest.index(after: at)...]
        let rawUser: Substring
        let rawPassword: Substring?
        if let colon = userInfo.firstIndex(of: ":") {
            rawUser = userInfo[..<colon]
            rawPassword = userInfo[userInfo.index(after: colon)...]
        } else {
            rawUser = userInfo
            rawPassword = nil
        }
        guard let username = rawUser.removingPercentEncoding, !username.isEmpty else {
            throw Self.invalid(rawUser.isEmpty ? "has no user name; write \(Self.form)" : "the user name has bad percent-encoding")
        }
        self.username = username
        if let rawPassword {
            guard let password = rawPassword.removingPercentEncoding else {
                throw Self.invalid("the password has bad percent-encoding (encode % as %25)")
            }
            self.password = password.isEmpty ? nil : password
        }

        if let hash = rest.firstIndex(of: "#") {
            guard rest[hash...].count == 1 else {
                throw Self.invalid("fragments (#...) are not supported")
            }
            rest = rest[..<hash]
        }
        var query: Substring = ""
        if let questionMark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: questionMark)...]
            rest = rest[..<questionMark]
        }
        let hostAndPort: Substring
        if let slash = rest.firstIndex(of: "/") {
            hostAndPort = rest[..<slash]
            let path = rest[rest.index(after: slash)...]
            guard !path.contains("/") else {
                throw Self.invalid("the path must be just the database name: \(Self.form)")
            }
            guard let database = path.removingPercentEncoding else {
                throw Self.invalid("the database name has bad percent-encoding")
            }
            self.database = database.isEmpty ? nil : database
        } else {
            hostAndPort = rest
        }

        let (host, port) = try Self.parseHostAndPort(hostAndPort)
        if host.hasPrefix("/") {
            // libpq's convention: an absolute path is the directory of the socket file.
            let directory = host.hasSuffix("/") ? String(host.dropLast()) : host
            self.address = .unixSocket(path: "\(directory)/.s.PGSQL.\(port ?? 5432)")
        } else {
            self.address = .tcp(host: host, port: port ?? 5432)
        }

        try parseParameters(query)
        if case .unixSocket = address, tlsMode == .require {
            throw Self.invalid("sslmode requires TLS, but a Unix socket connection cannot use TLS; use sslmode=disable")
        }
    }

    private static func parseHostAndPort(_ text: Substring) throws(SessionConfigurationError) -> (String, Int?) {
        guard !text.isEmpty else {
            throw Self.invalid("has no host; write \(Self.form)")
        }
        guard !text.contains(",") else {
            throw Self.invalid("several hosts are not supported; name one host")
        }
        let rawHost: Substring
        var rawPort: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw Self.invalid("an IPv6 address in brackets is missing its ]")
            }
            rawHost = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else {
                    throw Self.invalid("only :port may follow an IPv6 address in brackets")
                }
                rawPort = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            rawHost = text[..<colon]
            rawPort = text[text.index(after: colon)...]
        } else {
            rawHost = text
        }
        guard let host = rawHost.removingPercentEncoding, !host.isEmpty else {
            throw Self.invalid(rawHost.isEmpty ? "has no host; write \(Self.form)" : "the host has bad percent-encoding")
        }
        guard let rawPort else { return (host, nil) }
        guard rawPort.allSatisfy(\.isASCII), rawPort.allSatisfy(\.isNumber), let port = Int(rawPort), (1...65_535).contains(port) else {
            throw Self.invalid("the port must be a number from 1 to 65535")
        }
        return (host, port)
    }

    private mutating func parseParameters(_ query: Substring) throws(SessionConfigurationError) {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let name: String
            let value: String
            if let equals = pair.firstIndex(of: "=") {
                guard let decodedName = pair[..<equals].removingPercentEncoding,
                    let decodedValue = pair[pair.index(after: equals)...].removingPercentEncoding
                else {
                    throw Self.invalid("a query parameter has bad percent-encoding")
                }
                (name, value) = (decodedName, decodedValue)
            } else {
                throw Self.invalid("every query parameter needs a value (name=value)")
            }
            switch name {
            case "sslmode":
                switch value {
                case "disable": tlsMode = .disable
                case "prefer": tlsMode = .prefer
                case "require", "verify-ca", "verify-full": tlsMode = .require
                default:
                    throw Self.invalid(
                        "sslmode must be disable, prefer, require, verify-ca or verify-full, got \"\(value)\""
                    )
                }
            case "connect_timeout":
                guard value.allSatisfy(\.isASCII), let seconds = Int(value), seconds > 0 else {
                    throw Self.invalid("connect_timeout must be a positive whole number of seconds, got \"\(value)\"")
                }
                connectTimeout = .seconds(seconds)
            case "application_name":
                applicationName = value
            default:
                throw Self.invalid(
                    "unknown query parameter \"\(name)\"; supported: sslmode, connect_timeout, application_name"
                )
            }
        }
    }
}
#endif  // Postgres
