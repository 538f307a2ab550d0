#if Redis
public import SessionKit

extension RedisStore {
    /// A Redis server's address: a host name or IP address and a TCP port.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        /// The host name or IP address.
        public var host: String
        /// The TCP port.
        public var port: Int

        /// Creates an address.
        ///
        /// - Parameters:
        ///   - host: The host name or IP address (an IPv6 address without brackets).
        ///   - port: The TCP port, 1–65535.
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        /// `host:port`, with an IPv6 host in brackets.
        public var description: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    /// How the Redis servers a store talks to are arranged.
    public enum Topology: Sendable, Hashable {
        /// One server, at ``Configuration/host`` and ``Configuration/port``.
        case standalone
        /// A master found through Redis Sentinel: the sentinels' addresses and the
        /// name of the master they watch. ``Configuration/host`` and
        /// ``Configuration/port`` are not used.
        case sentinel(masterName: String, sentinels: [Endpoint])
        /// A Redis Cluster, discovered from any of these seed nodes.
        /// ``Configuration/host`` and ``Configuration/port`` are not used, and the
        /// database must be 0 (a cluster has no other).
        case cluster(seeds: [Endpoint])
    }

    /// Settings for a ``RedisStore``: where the server is, how to log in, and the
    /// timeouts and pool size.
    ///
    /// Build one field by field, or from a `redis://` URL with ``init(url:)``.
    /// The password never appears in the configuration's `description` or in
    /// any error.
    public struct Configuration: Sendable, CustomStringConvertible {
        /// The server's host name or IP address.
        public var host: String
        /// The server's TCP port.
        public var port: Int
        /// The ACL user to log in as (Redis 6 and later); `nil` for the default user.
        public var username: String?
        /// The password to log in with; `nil` when the server needs none.
        public var password: String?
        /// The logical database to `SELECT` after connecting.
        public var database: Int
        /// The text put before every session key, so sessions share a server with
        /// other data and tests can isolate themselves.
        public var keyPrefix: String
        /// How long a command may wait for its reply. A command that takes longer
        /// fails with ``SessionKit/SessionStoreError/Code/timedOut`` and closes its
        /// connection, failing the other commands pipelined on it.
        public var commandTimeout: Duration
        /// How long opening a TCP connection may take.
        ///
        /// A call that finds no open connection waits for one at most this long
        /// (plus ``commandTimeout`` for `AUTH` and `SELECT`), then at most
        /// ``commandTimeout`` for its reply.
        public var connectTimeout: Duration
        /// The most connections the store keeps open. Each one pipelines, so a few
        /// serve many concurrent requests.
        public var maximumConnections: Int
        /// How the servers are arranged: one server (the default), a master behind
        /// Sentinel, or a cluster.
        public var topology: Topology = .standalone

        /// Creates a configuration.
        ///
        /// - Parameters:
        ///   - host: The server's host name or IP address. Defaults to `127.0.0.1`.
        ///   - port: The server's TCP port. Defaults to 6379.
        ///   - username: The ACL user, or `nil` for the default user.
        ///   - password: The password, or `nil` when the server needs none.
        ///   - database: The logical database. Defaults to 0.
        ///   - keyPrefix: The text before every session key. Defaults to `sessionkit:`.
        ///   - commandTimeout: How long a command may wait for its reply. Defaults to 2 seconds.
        ///   - connectTimeout: How long opening a connection may take. Defaults to 2 seconds.
        ///   - maximumConnections: The most connections kept open. Defaults to 8.
        public init(
            host: String = "127.0.0.1",
            port: Int = 6379,
            username: String? = nil,
            password: String? = nil,
            database: Int = 0,
            keyPrefix: String = "sessionkit:",
            commandTimeout: Duration = .seconds(2),
            connectTimeout: Duration = .seconds(2),
            maximumConnections: Int = 8
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.keyPrefix = keyPrefix
            self.commandTimeout = commandTimeout
            self.connectTimeout = connectTimeout
            self.maximumConnections = maximumConnections
        }

        /// Creates a configuration from a URL of the form
        /// `redis://[user[:password]@]host[:port][/database]`.
        ///
        /// The user name and password may be percent-encoded (`p%40ss` for `p@ss`);
        /// `redis://:password@host` logs in as the default user. An IPv6 address
        /// goes in brackets: `redis://[::1]:6379`. Settings the URL does not name
        /// keep their defaults, as in ``init(host:port:username:password:database:keyPrefix:commandTimeout:connectTimeout:maximumConnections:)``.
        ///
        /// - Parameter url: The URL, for example the `REDIS_URL` environment variable.
        /// - Throws: ``SessionKit/SessionConfigurationError`` naming `REDIS_URL` when
        ///   the URL is not of that form: another scheme (including `rediss://`, as
        ///   TLS is not supported), no host, a port outside 1–65535, a database that
        ///   is not a non-negative number, bad percent-encoding, or a query string.
        ///   The error never repeats the password.
        public init(url: String) throws(SessionConfigurationError) {
            self.init()
            let parsed = try RedisURL(parsing: url)
            host = parsed.host
            port = parsed.port ?? port
            username = parsed.username
            password = parsed.password
            database = parsed.database ?? database
        }

        /// The server's address as `host:port`, for logs and errors.
        var address: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }

        /// The settings as a `redis://` URL, with the password replaced by `***`.
        public var description: String {
            var userInfo = ""
            if username != nil || password != nil {
                userInfo = (username ?? "") + (password == nil ? "" : ":***") + "@"
            }
            return "redis://\(userInfo)\(address)/\(database) (keyPrefix: \"\(keyPrefix)\", "
                + "commandTimeout: \(commandTimeout), connectTimeout: \(connectTimeout), "
                + "maximumConnections: \(maximumConnections))"
        }
    }
}

/// The parts of a `redis://` URL.
struct RedisURL: Hashable, Sendable {
    var host: String
    var port: Int?
    var username: String?
    var password: String?
    var database: Int?

    private static let setting = "REDIS_URL"

    private static func invalid(_ reason: String) -> SessionConfigurationError {
        SessionConfigurationError(setting: setting, reason: reason)
    }

    /// Parses a URL; errors describe the rule broken and never quote the URL,
    /// which may hold a password.
    init(parsing url: String) throws(SessionConfigurationError) {
        let text = Substring(url)
        guard let schemeEnd = text.firstRange(of: "://") else {
            throw Self.invalid("must be a URL of the form redis://[user:password@]host[:port][/database]")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" else {
            if scheme == "rediss" {
                throw Self.invalid("rediss:// (TLS) is not supported; use redis:// on a trusted network or a TLS tunnel")
            }
            throw Self.invalid("the scheme must be redis://")
        }
        var rest = text[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            throw Self.invalid("query parameters and fragments are not supported; put the database in the path (/0)")
        }

        // The authority ends at the first slash; the password may not contain a raw one.
        let authority: Substring
        let path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        } else {
            authority = rest
            path = nil
        }
        rest = authority

        // The user info ends at the last `@`, so a password may contain a raw `@`.
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = try Self.percentDecoded(userInfo[..<colon], what: "the user name")
                username = user.isEmpty ? nil : user
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], what: "the password")
            } else {
                let user = try Self.percentDecoded(userInfo, what: "the user name")
                username = user.isEmpty ? nil : user
                password = nil
            }
        } else {
            username = nil
            password = nil
        }

        let portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw Self.invalid("an IPv6 host must be closed with ]")
            }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.isEmpty {
                portText = nil
            } else if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else {
                throw Self.invalid("only :port may follow an IPv6 host")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
            portText = nil
        }
        guard !host.isEmpty else {
            throw Self.invalid("the URL has no host; expected redis://host[:port]")
        }
        let isBracketed = rest.hasPrefix("[")
        guard !host.contains(where: { $0 == " " || $0 == "%" || $0 == "/" || (!isBracketed && $0 == ":") }) else {
            throw Self.invalid("the host is not a valid host name or address")
        }

        if let portText {
            guard let port = Self.decimal(portText), (1...65_535).contains(port) else {
                throw Self.invalid("the port must be a number from 1 to 65535")
            }
            self.port = port
        } else {
            port = nil
        }

        if let path, !path.isEmpty {
            guard let database = Self.decimal(path) else {
                throw Self.invalid("the path must be a database number, for example /0")
            }
            self.database = database
        } else {
            database = nil
        }
    }

    /// A non-negative decimal number of at most nine digits, or `nil`.
    private static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 9, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(text)
    }

    private static func percentDecoded(_ text: Substring, what: String) throws(SessionConfigurationError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw invalid("\(what) has a % that is not followed by two hexadecimal digits")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw invalid("\(what) is not valid UTF-8 after percent-decoding")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }
}
#endif  // Redis
