import NIOCore

/// A RESP2 value, as Redis sends it.
///
/// Six cases are enough for RESP2 (RediStack's `RESPValue` has the same shape);
/// the store only ever needs simple strings, errors, integers, bulk strings and arrays.
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
