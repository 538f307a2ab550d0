#if Redis
public import NIOCore

/// The RESP2 reply decoder, reachable for SessionKit's micro benchmarks only
/// (`@_spi(Benchmarks) import SessionKitRedis`): not API, may change at any time.
@_spi(Benchmarks)
public enum RESPReplyParsing {
    /// Decodes every complete reply at the front of `buffer`, as the connection
    /// does with a pipelined read, and returns how many there were.
    ///
    /// - Parameter buffer: Bytes from the server; the decoded replies are consumed.
    /// - Returns: The number of replies decoded.
    /// - Throws: When the bytes are not RESP2.
    public static func decodeReplies(in buffer: inout ByteBuffer) throws -> Int {
        var count = 0
        while try RESPValue(consuming: &buffer) != nil { count += 1 }
        return count
    }

    /// Feeds `chunks` one read at a time through the connection's decoder, as a
    /// reply arriving in several reads would be, and returns how many replies it
    /// produced.
    ///
    /// - Parameter chunks: The reads, in order.
    /// - Returns: The number of replies decoded.
    /// - Throws: When the bytes are not RESP2.
    public static func decodeReplies(arrivingIn chunks: [ByteBuffer]) throws -> Int {
        let processor = NIOSingleStepByteToMessageProcessor(RESPValueDecoder())
        var count = 0
        for chunk in chunks {
            try processor.process(buffer: chunk) { _ in count += 1 }
        }
        return count
    }
}
#endif  // Redis
