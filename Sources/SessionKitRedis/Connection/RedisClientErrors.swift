#if Redis
/// A command that got no reply, because its connection timed out or closed.
struct RESPConnectionError: Error, Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        /// The command waited longer than the connection's command timeout.
        case timedOut
        /// The connection closed before the reply arrived, or was closed already.
        case closed
    }

    var kind: Kind

    static var timedOut: Self { .init(kind: .timedOut) }
    static var closed: Self { .init(kind: .closed) }

    var description: String {
        switch kind {
        case .timedOut: "the command timed out and its connection was closed"
        case .closed: "the connection closed before the reply arrived"
        }
    }
}

/// Redis refused a command sent while setting up a connection (`AUTH`, `SELECT`).
struct RedisHandshakeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The refused command's name, for example `AUTH`; never its arguments.
    var command: String
    /// The server's error message, for example `WRONGPASS invalid username-password pair`.
    var message: String

    /// `"Redis refused <command>: <message>"`.
    var description: String { "Redis refused \(command): \(message)" }
}

/// Redis answered a command with an error reply (`-ERR ...`).
struct RedisReplyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The command's name, for example `EVALSHA`; never its arguments.
    var command: String
    /// The server's message, for example `OOM command not allowed when used memory > 'maxmemory'`.
    var message: String

    /// `"Redis answered <command> with: <message>"`.
    var description: String { "Redis answered \(command) with: \(message)" }
}
#endif  // Redis
