#if Redis
import NIOCore

/// One command, encoded as RESP2 sends it: an array of bulk strings.
///
/// ```swift
/// let command = RESPCommand("GET", "foo")   // *2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n
/// ```
struct RESPCommand: Sendable, Hashable {
    /// One argument of a command: text (sent as UTF-8) or raw bytes.
    enum Argument: Sendable, Hashable, ExpressibleByStringLiteral {
        case string(String)
        case bytes([UInt8])

        init(stringLiteral value: String) {
            self = .string(value)
        }
    }

    /// The command's wire form.
    let encoded: ByteBuffer

    /// The command's name, for error messages; arguments are never kept in text form.
    let name: String

    /// The argument ``routingKey`` comes from, kept as given (no copy of its bytes
    /// until a cluster asks for them).
    private let routingArgument: Argument?

    /// The key that decides which Redis Cluster node serves the command: the first
    /// key of a script (`EVAL`, `EVALSHA`), nothing for commands without keys
    /// (`PING`, `CLUSTER`, `SCRIPT`, ...), else the first argument. A standalone
    /// server never asks for it.
    var routingKey: [UInt8]? {
        switch routingArgument {
        case .string(let text)?: Array(text.utf8)
        case .bytes(let bytes)?: bytes
        case nil: nil
        }
    }

    /// Encodes a command.
    ///
    /// - Parameters:
    ///   - name: The command, for example `GET`.
    ///   - arguments: Its arguments.
    init(_ name: String, _ arguments: [Argument]) {
        var size = 16 + name.utf8.count
        for argument in arguments {
            switch argument {
            case .string(let text): size += text.utf8.count + 16
            case .bytes(let bytes): size += bytes.count + 16
            }
        }
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        buffer.writeStaticString("*")
        buffer.writeString(String(arguments.count + 1))
        buffer.writeStaticString("\r\n")
        Self.writeBulk(name.utf8, into: &buffer)
        for argument in arguments {
            switch argument {
            case .string(let text): Self.writeBulk(text.utf8, into: &buffer)
            case .bytes(let bytes): Self.writeBulk(bytes, into: &buffer)
            }
        }
        self.encoded = buffer
        self.name = name
        self.routingArgument = Self.routingArgument(name: name, arguments: arguments)
    }

    /// Commands that name no key: a cluster may send them to any node.
    private static let keyless: Set<String> = [
        "ASKING", "AUTH", "CLIENT", "CLUSTER", "CONFIG", "DBSIZE", "ECHO", "FLUSHALL", "FLUSHDB", "HELLO", "INFO",
        "PING", "READONLY", "READWRITE", "SCRIPT", "SELECT", "TIME",
    ]

    private static func routingArgument(name: String, arguments: [Argument]) -> Argument? {
        let upper = name.uppercased()
        if upper == "EVAL" || upper == "EVALSHA" {
            guard arguments.count > 2, case .string(let count) = arguments[1], let keys = Int(count), keys > 0 else { return nil }
            return arguments[2]
        }
        guard !keyless.contains(upper), let first = arguments.first else { return nil }
        return first
    }

    /// Encodes a command.
    ///
    /// - Parameters:
    ///   - name: The command, for example `GET`.
    ///   - arguments: Its arguments.
    init(_ name: String, _ arguments: Argument...) {
        self.init(name, arguments)
    }

    private static func writeBulk(_ bytes: some Collection<UInt8>, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("$")
        buffer.writeString(String(bytes.count))
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
    }
}
#endif  // Redis
