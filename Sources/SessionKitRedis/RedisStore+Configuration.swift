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

    /// How a store talks TLS to Redis (`rediss://`): which certificate authorities
    /// it trusts, the client certificate it shows, and the name it checks.
    ///
    /// The server's certificate is always verified: it must chain to ``trustRoots``
    /// and name the host the store connects to (a DNS name, or an IP address in its
    /// subject alternative names), or ``serverName`` when set. A certificate that
    /// fails either check fails the connection, and the store's calls fail with
    /// ``SessionKit/SessionStoreError/Code/unavailable`` saying why; the store never
    /// falls back to plain TCP. Files are read when the store is created, so a
    /// missing or unreadable file is a ``SessionKit/SessionConfigurationError`` at
    /// start-up.
    public struct TLS: Sendable, Hashable {
        /// The certificate authorities a server certificate must chain to.
        public enum TrustRoots: Sendable, Hashable {
            /// The operating system's trust store (on Linux, the CA bundle in `/etc/ssl`).
            case system
            /// A PEM file with one or more CA certificates, for a private CA.
            case caFile(String)
            /// PEM text with one or more CA certificates.
            case caPEM(String)
        }

        /// The certificate authorities to trust. Defaults to ``TrustRoots/system``.
        public var trustRoots: TrustRoots
        /// A PEM file with the client certificate (and any intermediates) to show a
        /// server that asks for one (mutual TLS, `tls-auth-clients yes`); `nil` for none.
        /// Needs ``privateKeyFile``.
        public var certificateFile: String?
        /// The PEM file with the private key of ``certificateFile``.
        public var privateKeyFile: String?
        /// The name to send in SNI and to check the server's certificate against,
        /// when it is not the host connected to (for example when connecting by IP
        /// address to a server whose certificate names a DNS name); `nil` uses the host.
        public var serverName: String?

        /// Creates TLS settings.
        ///
        /// - Parameters:
        ///   - trustRoots: The certificate authorities to trust. Defaults to the system's.
        ///   - certificateFile: A client certificate PEM file for mutual TLS, or `nil`.
        ///   - privateKeyFile: The client certificate's private key PEM file, or `nil`.
        ///   - serverName: The name to verify and send in SNI instead of the host, or `nil`.
        public init(
            trustRoots: TrustRoots = .system,
            certificateFile: String? = nil,
            privateKeyFile: String? = nil,
            serverName: String? = nil
        ) {
            self.trustRoots = trustRoots
            self.certificateFile = certificateFile
            self.privateKeyFile = privateKeyFile
            self.serverName = serverName
        }
    }

    /// Settings for a ``RedisStore``: where the server is, how to log in, and the
    /// timeouts and pool size.
    ///
    /// Build one field by field, or from a URL with ``init(url:)``: `redis://`,
    /// `rediss://` (TLS), `redis-sentinel://` or `redis-cluster://`.
    /// Passwords never appear in the configuration's `description` or in
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
        /// TLS settings; `nil` (the default) talks plain TCP. A `rediss://` URL sets
        /// ``TLS/init(trustRoots:certificateFile:privateKeyFile:serverName:)`` with the
        /// system's trust store.
        ///
        /// With ``Topology/sentinel(masterName:sentinels:)`` the sentinels and the
        /// master (and whichever replica a failover promotes) are all reached over
        /// TLS with these settings: each certificate must chain to the trust roots
        /// and name the address connected to, the one the sentinels announce (or
        /// ``TLS/serverName``, which then applies to every one of them).
        public var tls: TLS?
        /// The ACL user to log in to the sentinels as, when they have their own
        /// (`requirepass` or ACL in `sentinel.conf`); `nil` for the default user.
        /// ``username`` and ``password`` log in to the master only.
        public var sentinelUsername: String?
        /// The password to log in to the sentinels with; `nil` when they need none.
        public var sentinelPassword: String?
        /// How many replicas must have a write before the store reports it done
        /// (Redis `WAIT` after each save, touch and delete); 0 (the default) does
        /// not wait.
        ///
        /// With Sentinel, 1 or more makes an acknowledged write survive the master's
        /// loss: the replica that has it is the one a failover promotes (Sentinel
        /// promotes the replica with the most data). A write that fewer replicas
        /// acknowledge within ``replicaAcknowledgementTimeout`` fails with
        /// ``SessionKit/SessionStoreError/Code/unavailable`` (it may still be on the
        /// master). `WAIT` holds its connection while it waits, so commands
        /// pipelined behind it wait too.
        ///
        /// On a cluster, 0 still waits for one replica of the master a write goes
        /// to whenever that master has one connected; 1 or more makes the replicas
        /// required, so writes fail while a master has fewer.
        public var minimumReplicaAcknowledgements: Int = 0
        /// How long a write waits for ``minimumReplicaAcknowledgements`` replicas.
        /// Must be shorter than ``commandTimeout``. Defaults to 500 ms.
        public var replicaAcknowledgementTimeout: Duration = .milliseconds(500)

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

        /// Creates a configuration from a URL, in one of four forms:
        ///
        /// - `redis://[user[:password]@]host[:port][/database]`: one server over TCP.
        /// - `rediss://[user[:password]@]host[:port][/database]`: one server over TLS,
        ///   verified against the system's trust store (set ``tls`` afterwards for a
        ///   private CA or a client certificate).
        /// - `redis-sentinel://[user[:password]@]host[:port],host[:port],…/master-name[?db=N]`:
        ///   the master named `master-name`, found through these sentinels (default
        ///   port 26379). The user and password log in to the master (and whichever
        ///   replica a failover promotes); sentinels that need their own credentials
        ///   take them as `sentinelUsername=` and `sentinelPassword=` query parameters
        ///   (percent-encoded). `rediss-sentinel://` reaches the sentinels and the
        ///   master over TLS.
        /// - `redis-cluster://[user[:password]@]host[:port],host[:port],…[/0]`: a Redis
        ///   Cluster, from these seed nodes; `rediss-cluster://` over TLS. The database
        ///   must be 0 or absent.
        ///
        /// User names and passwords may be percent-encoded (`p%40ss` for `p@ss`);
        /// `redis://:password@host` logs in as the default user. An IPv6 address
        /// goes in brackets: `redis://[::1]:6379`. A query parameter `wait=N` sets
        /// ``minimumReplicaAcknowledgements`` (on a cluster: replicas of the master a
        /// write goes to). Settings the URL does not name
        /// keep their defaults, as in ``init(host:port:username:password:database:keyPrefix:commandTimeout:connectTimeout:maximumConnections:)``.
        ///
        /// - Parameter url: The URL, for example the `REDIS_URL` environment variable.
        /// - Throws: ``SessionKit/SessionConfigurationError`` naming `REDIS_URL` when
        ///   the URL is not of one of these forms: another scheme, no host, a port
        ///   outside 1–65535, a database that is not a non-negative number, bad
        ///   percent-encoding, a query parameter the form does not take, no master
        ///   name, several hosts where one is expected, or a cluster database
        ///   other than 0. The error never repeats a password.
        public init(url: String) throws(SessionConfigurationError) {
            self.init()
            let parsed = try RedisURL(parsing: url)
            username = parsed.username
            password = parsed.password
            database = parsed.database ?? database
            if parsed.isTLS { tls = TLS() }
            minimumReplicaAcknowledgements = parsed.minimumReplicaAcknowledgements ?? 0
            sentinelUsername = parsed.sentinelUsername
            sentinelPassword = parsed.sentinelPassword
            switch parsed.kind {
            case .standalone:
                host = parsed.hosts[0].host
                port = parsed.hosts[0].port ?? port
            case .sentinel(let masterName):
                topology = .sentinel(
                    masterName: masterName,
                    sentinels: parsed.hosts.map { Endpoint(host: $0.host, port: $0.port ?? 26_379) }
                )
            case .cluster:
                topology = .cluster(seeds: parsed.hosts.map { Endpoint(host: $0.host, port: $0.port ?? 6379) })
            }
        }

        /// The server's address as `host:port`, for logs and errors.
        var address: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }

        /// What the store talks to, for errors: `host:port`, or the master's name
        /// and its sentinels, or the seed nodes.
        var target: String {
            switch topology {
            case .standalone: address
            case .sentinel(let masterName, let sentinels):
                "master \"\(masterName)\" (Sentinel at \(sentinels.map(\.description).joined(separator: ",")))"
            case .cluster(let seeds): "the cluster at \(seeds.map(\.description).joined(separator: ","))"
            }
        }

        /// The settings as a URL, with every password replaced by `***`.
        public var description: String {
            var userInfo = ""
            if username != nil || password != nil {
                userInfo = (username ?? "") + (password == nil ? "" : ":***") + "@"
            }
            let secure = tls == nil ? "" : "s"
            var url: String
            switch topology {
            case .standalone:
                url = "redis\(secure)://\(userInfo)\(address)/\(database)"
            case .sentinel(let masterName, let sentinels):
                url = "redis\(secure)-sentinel://\(userInfo)\(sentinels.map(\.description).joined(separator: ","))/"
                    + "\(masterName)?db=\(database)"
                if sentinelUsername != nil { url += "&sentinelUsername=\(sentinelUsername ?? "")" }
                if sentinelPassword != nil { url += "&sentinelPassword=***" }
            case .cluster(let seeds):
                url = "redis\(secure)-cluster://\(userInfo)\(seeds.map(\.description).joined(separator: ","))"
            }
            var settings = "keyPrefix: \"\(keyPrefix)\", commandTimeout: \(commandTimeout), "
                + "connectTimeout: \(connectTimeout), maximumConnections: \(maximumConnections)"
            if minimumReplicaAcknowledgements > 0 {
                settings += ", minimumReplicaAcknowledgements: \(minimumReplicaAcknowledgements) "
                    + "within \(replicaAcknowledgementTimeout)"
            }
            if let tls {
                switch tls.trustRoots {
                case .system: settings += ", tls: system trust store"
                case .caFile(let path): settings += ", tls: CA file \(path)"
                case .caPEM: settings += ", tls: CA from PEM"
                }
                if let file = tls.certificateFile { settings += ", client certificate \(file)" }
                if let name = tls.serverName { settings += ", server name \(name)" }
            }
            return "\(url) (\(settings))"
        }
    }
}

/// The parts of a `redis://`, `rediss://`, `redis-sentinel://` or `redis-cluster://` URL.
struct RedisURL: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case standalone
        case sentinel(masterName: String)
        case cluster
    }

    /// A host and the port given for it, if any.
    struct Host: Hashable, Sendable {
        var host: String
        var port: Int?
    }

    var kind: Kind
    var isTLS: Bool
    /// One host for `redis://` and `rediss://`; one or more for the others.
    var hosts: [Host]
    var username: String?
    var password: String?
    var database: Int?
    var sentinelUsername: String?
    var sentinelPassword: String?
    var minimumReplicaAcknowledgements: Int?

    private static let setting = "REDIS_URL"
    private static let forms =
        "redis://[user:password@]host[:port][/database], rediss://…, "
        + "redis-sentinel://host:port,host:port/master-name[?db=N] or redis-cluster://host:port,host:port"

    private static func invalid(_ reason: String) -> SessionConfigurationError {
        SessionConfigurationError(setting: setting, reason: reason)
    }

    /// Parses a URL; errors describe the rule broken and never quote the URL,
    /// which may hold a password.
    init(parsing url: String) throws(SessionConfigurationError) {
        let text = Substring(url)
        guard let schemeEnd = text.firstRange(of: "://") else {
            throw Self.invalid("must be a URL of the form \(Self.forms)")
        }
        let scheme = text[..<schemeEnd.lowerBound].lowercased()
        isTLS = scheme == "rediss" || scheme == "rediss-sentinel" || scheme == "rediss-cluster"
        switch scheme {
        case "redis", "rediss": kind = .standalone
        case "redis-sentinel", "rediss-sentinel": kind = .sentinel(masterName: "")
        case "redis-cluster", "rediss-cluster": kind = .cluster
        default:
            throw Self.invalid("the scheme must be redis://, rediss://, redis-sentinel:// or redis-cluster://")
        }
        var rest = text[schemeEnd.upperBound...]
        if rest.contains("#") {
            throw Self.invalid("fragments (#) are not supported")
        }
        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
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

        let hostTexts = rest.split(separator: ",", omittingEmptySubsequences: false)
        if case .standalone = kind, hostTexts.count > 1 {
            throw Self.invalid("\(scheme):// takes one host; list several only in redis-sentinel:// or redis-cluster://")
        }
        hosts = []
        for hostText in hostTexts {
            hosts.append(try Self.host(hostText))
        }

        database = nil
        sentinelUsername = nil
        sentinelPassword = nil
        minimumReplicaAcknowledgements = nil
        switch kind {
        case .standalone:
            if let path, !path.isEmpty {
                guard let database = Self.decimal(path) else {
                    throw Self.invalid("the path must be a database number, for example /0")
                }
                self.database = database
            }
        case .sentinel:
            guard let path, !path.isEmpty else {
                throw Self.invalid("redis-sentinel:// needs the master's name as its path: redis-sentinel://host:port,…/mymaster")
            }
            guard !path.contains("/") else {
                throw Self.invalid("the path must be the master's name alone; give the database as ?db=N")
            }
            kind = .sentinel(masterName: try Self.percentDecoded(path, what: "the master name"))
        case .cluster:
            if let path, !path.isEmpty {
                guard Self.decimal(path) == 0 else {
                    throw Self.invalid("a cluster has only database 0; leave the path out or write /0")
                }
                database = 0
            }
        }

        guard let query else { return }
        for parameter in query.split(separator: "&") {
            let name: Substring
            let value: Substring
            if let equals = parameter.firstIndex(of: "=") {
                name = parameter[..<equals]
                value = parameter[parameter.index(after: equals)...]
            } else {
                (name, value) = (parameter, "")
            }
            switch (name, kind) {
            case ("db", .sentinel):
                guard let database = Self.decimal(value) else {
                    throw Self.invalid("the query parameter db must be a database number, for example db=0")
                }
                self.database = database
            case ("sentinelUsername", .sentinel):
                let user = try Self.percentDecoded(value, what: "sentinelUsername")
                sentinelUsername = user.isEmpty ? nil : user
            case ("sentinelPassword", .sentinel):
                sentinelPassword = try Self.percentDecoded(value, what: "sentinelPassword")
            case ("wait", _):
                guard let count = Self.decimal(value) else {
                    throw Self.invalid("the query parameter wait must be a number of replicas, for example wait=1")
                }
                minimumReplicaAcknowledgements = count
            case ("db", _):
                throw Self.invalid("the query parameter db is only for redis-sentinel://; put the database in the path (/0)")
            default:
                // Never quote the parameter's value: it may be a password.
                throw Self.invalid(
                    "the query parameter \(name.prefix(40)) is not supported by \(scheme):// "
                        + "(redis-sentinel:// takes db, sentinelUsername, sentinelPassword and wait; redis://, rediss:// and redis-cluster:// take wait)"
                )
            }
        }
    }

    /// One `host[:port]`, with an IPv6 host in brackets.
    private static func host(_ rest: Substring) throws(SessionConfigurationError) -> Host {
        let host: String
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
            throw Self.invalid("the URL has no host (or an empty one in a list); expected host[:port]")
        }
        let isBracketed = rest.hasPrefix("[")
        guard !host.contains(where: { $0 == " " || $0 == "%" || $0 == "/" || (!isBracketed && $0 == ":") }) else {
            throw Self.invalid("the host is not a valid host name or address")
        }

        guard let portText else { return Host(host: host, port: nil) }
        guard let port = Self.decimal(portText), (1...65_535).contains(port) else {
            throw Self.invalid("the port must be a number from 1 to 65535")
        }
        return Host(host: host, port: port)
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
