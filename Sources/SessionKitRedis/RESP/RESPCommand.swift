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
