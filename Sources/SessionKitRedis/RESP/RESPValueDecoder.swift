#if Redis
import NIOCore

/// Turns the bytes Redis sends into ``RESPValue``s, one reply at a time.
///
/// Wrap it in a `ByteToMessageHandler`. A malformed reply throws ``RESPError``,
/// which the handler passes on as an error; the ``RESPCommandHandler`` after it
/// then closes the connection.
struct RESPValueDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = RESPValue

    let limits: RESPValue.DecodingLimits

    init(limits: RESPValue.DecodingLimits = .standard) {
        self.limits = limits
    }

    mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        try RESPValue(consuming: &buffer, limits: limits)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        // A partial reply at end of stream is dropped: the command handler fails
        // the command waiting for it when the channel goes inactive.
        try decode(buffer: &buffer)
    }
}
#endif  // Redis
