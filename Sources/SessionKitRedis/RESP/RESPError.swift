#if Redis
/// A reply that is not valid RESP2, or that breaks one of the decoder's limits.
///
/// A connection that receives one cannot tell where the next reply starts, so it
/// closes and fails every command still waiting for a reply.
struct RESPError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What is wrong with the reply, for example `bulk string length -2 is negative`.
    var message: String

    init(_ message: String) {
        self.message = message
    }

    /// `"malformed RESP reply: <message>"`.
    var description: String { "malformed RESP reply: \(message)" }
}
#endif  // Redis
