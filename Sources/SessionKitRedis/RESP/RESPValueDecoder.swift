#if Redis
import NIOCore

/// Turns the bytes Redis sends into ``RESPValue``s, one reply at a time.
///
/// Wrap it in a `ByteToMessageHandler`. A malformed reply throws ``RESPError``,
/// which the handler passes on as an error; the ``RESPCommandHandler`` after it
/// then closes the connection.
///
/// A reply that arrives over many reads is not parsed again from its first byte
/// on every read: a ``RESPFrameScanner`` walks each byte once, remembering how far
/// it got and which arrays are still open, and the reply is parsed into a value
/// only once its last byte is there. Decoding a reply of `n` bytes costs O(`n`)
/// whatever the reads' sizes (before, a large array arriving in small reads cost
/// O(`n`²)).
struct RESPValueDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = RESPValue

    let limits: RESPValue.DecodingLimits
    private(set) var scanner: RESPFrameScanner

    init(limits: RESPValue.DecodingLimits = .standard) {
        self.limits = limits
        self.scanner = RESPFrameScanner(limits: limits)
    }

    mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        guard try scanner.scan(buffer) else { return nil }
        scanner.reset()
        // The scanner found one complete, well-framed reply at the front: parse it once.
        return try RESPValue(consuming: &buffer, limits: limits)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        // A partial reply at end of stream is dropped: the command handler fails
        // the command waiting for it when the channel goes inactive.
        try decode(buffer: &buffer)
    }
}

/// Finds where the reply at the front of a buffer ends, across reads, looking at
/// each byte once.
///
/// It keeps the number of bytes past the reader index already known to belong to
/// complete items, and for each array still open the number of elements still to
/// come. The limits are enforced as the bytes arrive, so a hostile length fails
/// at once instead of being waited for.
struct RESPFrameScanner {
    let limits: RESPValue.DecodingLimits
    /// Bytes after the buffer's reader index that belong to complete items.
    private var scanned = 0
    /// For each open array, outermost first, how many elements are still to come.
    private var openArrays: [Int64] = []
    private var declaredBytes = 0
    private var declaredElements = 0
    /// Every byte the scanner looked at since it was made; the linearity tests read it.
    private(set) var bytesExamined = 0

    init(limits: RESPValue.DecodingLimits) {
        self.limits = limits
    }

    /// Forgets the reply just found, ready for the next one.
    mutating func reset() {
        scanned = 0
        openArrays.removeAll(keepingCapacity: true)
        declaredBytes = 0
        declaredElements = 0
    }

    /// Scans the bytes that arrived since the last call.
    ///
    /// - Parameter buffer: Every unconsumed byte received so far, the reply first.
    /// - Returns: `true` when the buffer holds the whole reply.
    /// - Throws: ``RESPError`` when the bytes are not RESP2 or break a limit.
    mutating func scan(_ buffer: ByteBuffer) throws(RESPError) -> Bool {
        while true {
            let start = buffer.readerIndex + scanned
            guard let typeByte = buffer.getInteger(at: start, as: UInt8.self) else { return false }
            guard let (length, lineEnd) = try readHeader(buffer, at: start + 1, typeByte: typeByte) else { return false }
            switch typeByte {
            case UInt8(ascii: "$") where length >= 0:
                let count = Int(length)
                guard count <= limits.maximumReplyBytes - declaredBytes else {
                    throw RESPError("bulk string length \(length) exceeds the limit of \(limits.maximumReplyBytes) bytes per reply")
                }
                // The body and its CRLF must both be there before the value counts as complete.
                guard buffer.writerIndex - lineEnd >= count + 2 else { return false }
                declaredBytes += count
                bytesExamined += 2
                scanned = lineEnd + count + 2 - buffer.readerIndex
            case UInt8(ascii: "*") where length > 0:
                guard openArrays.count + 1 <= limits.maximumDepth else {
                    throw RESPError("arrays nest deeper than the limit of \(limits.maximumDepth) levels")
                }
                guard length <= limits.maximumElements - declaredElements else {
                    throw RESPError("array length \(length) exceeds the limit of \(limits.maximumElements) elements per reply")
                }
                declaredElements += Int(length)
                openArrays.append(length)
                scanned = lineEnd - buffer.readerIndex
                continue
            default:
                // A simple string, an error, an integer, a null or an empty array.
                scanned = lineEnd - buffer.readerIndex
            }
            // An item is complete: close every array it completes.
            while let last = openArrays.indices.last {
                openArrays[last] -= 1
                guard openArrays[last] == 0 else { break }
                openArrays.removeLast()
            }
            if openArrays.isEmpty { return true }
        }
    }

    /// Reads the header line of the item whose type byte precedes `lineStart`,
    /// with the parser's own line and integer readers.
    ///
    /// - Returns: For `$` and `*` the declared length (`-1`: null; other negative
    ///   lengths are left to the parser, which refuses them), otherwise 0; and the
    ///   index after the line's CRLF. `nil` when the CRLF has not arrived.
    private mutating func readHeader(
        _ buffer: ByteBuffer,
        at lineStart: Int,
        typeByte: UInt8
    ) throws(RESPError) -> (Int64, Int)? {
        switch typeByte {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "$"), UInt8(ascii: "*"): break
        default: throw RESPError("unknown type byte 0x\(String(typeByte, radix: 16)) (RESP2 has + - : $ *)")
        }
        guard let (line, lineEnd) = try RESPValue.readLine(in: buffer, from: lineStart, limits: limits) else {
            // An incomplete line is looked at again on the next read: at most one line's worth.
            bytesExamined += min(buffer.writerIndex - lineStart, limits.maximumLineLength + 2)
            return nil
        }
        bytesExamined += lineEnd - lineStart
        switch typeByte {
        case UInt8(ascii: "$"): return (try RESPValue.parseInteger(line, what: "bulk string length"), lineEnd)
        case UInt8(ascii: "*"): return (try RESPValue.parseInteger(line, what: "array length"), lineEnd)
        default: return (0, lineEnd)
        }
    }
}
#endif  // Redis
