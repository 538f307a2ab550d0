#if Redis
import NIOCore

/// A RESP2 value, as Redis sends it.
///
/// Six cases are enough for RESP2 (RediStack's `RESPValue` has the same shape);
/// the store only ever needs simple strings, errors, integers, bulk strings and arrays.
/// Parsing lives in `RESPValue+Decoding.swift`; commands are encoded by ``RESPCommand``.
enum RESPValue: Sendable, Hashable {
    /// `+OK\r\n`.
    case simpleString(String)
    /// `-ERR message\r\n`: the server refused the command.
    case error(String)
    /// `:42\r\n`.
    case integer(Int64)
    /// `$3\r\nfoo\r\n`.
    case bulkString(ByteBuffer)
    /// `$-1\r\n` or `*-1\r\n`.
    case null
    /// `*2\r\n...`.
    case array([RESPValue])
}

extension RESPValue {
    /// The bytes of a bulk string or the text of a simple string, as bytes; `nil` otherwise.
    var bytes: [UInt8]? {
        switch self {
        case .bulkString(let buffer): Array(buffer.readableBytesView)
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    /// The value as text when it is a bulk or simple string; `nil` otherwise.
    var string: String? {
        switch self {
        case .bulkString(let buffer): String(buffer: buffer)
        case .simpleString(let text): text
        default: nil
        }
    }

    /// The server's message when the value is an error reply; `nil` otherwise.
    var errorMessage: String? {
        if case .error(let message) = self { message } else { nil }
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short rendering for test failures and debugging; bulk strings show only their length.
    ///
    /// Bulk strings carry session data, so their bytes are never printed.
    var description: String {
        switch self {
        case .simpleString(let text): "+\(text)"
        case .error(let message): "-\(message)"
        case .integer(let value): ":\(value)"
        case .bulkString(let buffer): "$<\(buffer.readableBytes) bytes>"
        case .null: "null"
        case .array(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
#endif  // Redis
