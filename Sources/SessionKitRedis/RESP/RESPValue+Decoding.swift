#if Redis
import NIOCore

extension RESPValue {
    /// The bounds a decoder enforces, so a broken or hostile server cannot make the
    /// client allocate without limit or recurse without end.
    struct DecodingLimits: Sendable, Hashable {
        /// How deeply arrays may nest; a top-level array is depth 1.
        var maximumDepth: Int
        /// The most bytes one reply may declare in bulk strings, in total.
        var maximumReplyBytes: Int
        /// The most array elements one reply may declare, in total.
        var maximumElements: Int
        /// The longest line (a simple string, an error, an integer or a length).
        var maximumLineLength: Int

        /// 32 levels, 64 MiB, a million elements, 64 KiB lines.
        static let standard = DecodingLimits(
            maximumDepth: 32,
            maximumReplyBytes: 64 * 1024 * 1024,
            maximumElements: 1 << 20,
            maximumLineLength: 64 * 1024
        )
    }

    /// Decodes one value from the front of `buffer`.
    ///
    /// On success the value's bytes are consumed. When the buffer holds only part
    /// of a value, nothing is consumed and the initializer returns `nil`: call it
    /// again once more bytes have arrived.
    ///
    /// - Parameters:
    ///   - buffer: The bytes received so far.
    ///   - limits: The bounds to enforce.
    /// - Throws: ``RESPError`` when the bytes are not RESP2 or break a limit. The
    ///   stream cannot be resynchronised after that.
    init?(consuming buffer: inout ByteBuffer, limits: DecodingLimits = .standard) throws(RESPError) {
        var parser = Parser(buffer: buffer, limits: limits)
        guard let value = try parser.parseValue(depth: 0) else { return nil }
        buffer.moveReaderIndex(to: parser.index)
        self = value
    }
}

extension RESPValue {
    // The line and integer readers the parser and the frame scanner share.

    /// Finds the CRLF-terminated line starting at `start`.
    ///
    /// - Returns: The line without its CRLF and the index after the CRLF, or `nil`
    ///   when the CRLF has not arrived yet.
    static func readLine(in buffer: ByteBuffer, from start: Int, limits: DecodingLimits) throws(RESPError) -> ([UInt8], Int)? {
        let available = buffer.writerIndex - start
        guard available > 0 else { return nil }
        let window = min(available, limits.maximumLineLength + 2)
        guard let view = buffer.viewBytes(at: start, length: window) else { return nil }
        guard let carriageReturn = view.firstIndex(of: UInt8(ascii: "\r")) else {
            if window > limits.maximumLineLength {
                throw RESPError("a line is longer than the limit of \(limits.maximumLineLength) bytes")
            }
            if view.contains(UInt8(ascii: "\n")) {
                throw RESPError("a line ends in LF without CR")
            }
            return nil
        }
        // A line one byte over the limit has its CR as the window's last byte, and
        // its LF outside the window: waiting for that LF would wait forever.
        guard carriageReturn - view.startIndex <= limits.maximumLineLength else {
            throw RESPError("a line is longer than the limit of \(limits.maximumLineLength) bytes")
        }
        let lineFeedIndex = carriageReturn + 1
        guard lineFeedIndex < view.endIndex else { return nil }
        guard view[lineFeedIndex] == UInt8(ascii: "\n") else {
            throw RESPError("a CR inside a line is not followed by LF")
        }
        let line = Array(view[view.startIndex..<carriageReturn])
        if line.contains(UInt8(ascii: "\n")) {
            throw RESPError("a line ends in LF without CR")
        }
        return (line, start + (lineFeedIndex - view.startIndex) + 1)
    }

    /// Parses a decimal integer: an optional `-` and at least one digit, nothing else.
    static func parseInteger(_ line: [UInt8], what: String) throws(RESPError) -> Int64 {
        var digits = line[...]
        let isNegative = digits.first == UInt8(ascii: "-")
        if isNegative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 19, digits.allSatisfy({ (0x30...0x39).contains($0) }) else {
            throw RESPError("\(what) is not a decimal number")
        }
        var magnitude: UInt64 = 0
        for digit in digits { magnitude = magnitude * 10 + UInt64(digit - 0x30) }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw RESPError("\(what) is out of range") }
            return magnitude == UInt64(Int64.max) + 1 ? .min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { throw RESPError("\(what) is out of range") }
        return Int64(magnitude)
    }
}

/// Parses from a copy of the buffer, moving only its own index, so a partial
/// value leaves the caller's buffer untouched.
private struct Parser {
    let buffer: ByteBuffer
    let limits: RESPValue.DecodingLimits
    var index: Int
    var declaredBytes = 0
    var declaredElements = 0

    init(buffer: ByteBuffer, limits: RESPValue.DecodingLimits) {
        self.buffer = buffer
        self.limits = limits
        self.index = buffer.readerIndex
    }

    mutating func parseValue(depth: Int) throws(RESPError) -> RESPValue? {
        guard let typeByte = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
        let lineStart = index + 1
        guard let (line, next) = try readLine(from: lineStart) else { return nil }
        switch typeByte {
        case UInt8(ascii: "+"):
            index = next
            return .simpleString(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: "-"):
            index = next
            return .error(String(decoding: line, as: UTF8.self))
        case UInt8(ascii: ":"):
            index = next
            return .integer(try parseInteger(line, what: "integer"))
        case UInt8(ascii: "$"):
            return try parseBulkString(length: try parseInteger(line, what: "bulk string length"), bodyStart: next)
        case UInt8(ascii: "*"):
            return try parseArray(count: try parseInteger(line, what: "array length"), elementsStart: next, depth: depth + 1)
        default:
            throw RESPError("unknown type byte 0x\(String(typeByte, radix: 16)) (RESP2 has + - : $ *)")
        }
    }

    private mutating func parseBulkString(length: Int64, bodyStart: Int) throws(RESPError) -> RESPValue? {
        if length == -1 {
            index = bodyStart
            return .null
        }
        guard length >= 0 else { throw RESPError("bulk string length \(length) is negative") }
        guard length <= limits.maximumReplyBytes - declaredBytes else {
            throw RESPError("bulk string length \(length) exceeds the limit of \(limits.maximumReplyBytes) bytes per reply")
        }
        let count = Int(length)
        declaredBytes += count
        // The body and its CRLF must both be there before the value counts as complete.
        guard buffer.writerIndex - bodyStart >= count + 2 else { return nil }
        guard
            buffer.getInteger(at: bodyStart + count, as: UInt8.self) == UInt8(ascii: "\r"),
            buffer.getInteger(at: bodyStart + count + 1, as: UInt8.self) == UInt8(ascii: "\n")
        else {
            throw RESPError("bulk string of \(count) bytes is not followed by CRLF")
        }
        // `getSlice` only fails outside the readable bytes, which the check above rules out.
        guard let body = buffer.getSlice(at: bodyStart, length: count) else { return nil }
        index = bodyStart + count + 2
        return .bulkString(body)
    }

    private mutating func parseArray(count: Int64, elementsStart: Int, depth: Int) throws(RESPError) -> RESPValue? {
        if count == -1 {
            index = elementsStart
            return .null
        }
        guard count >= 0 else { throw RESPError("array length \(count) is negative") }
        guard depth <= limits.maximumDepth else {
            throw RESPError("arrays nest deeper than the limit of \(limits.maximumDepth) levels")
        }
        guard count <= limits.maximumElements - declaredElements else {
            throw RESPError("array length \(count) exceeds the limit of \(limits.maximumElements) elements per reply")
        }
        declaredElements += Int(count)
        index = elementsStart
        var elements: [RESPValue] = []
        // Reserve for the elements the bytes at hand could hold (each takes at least
        // 3), not for the count the reply claims: a 10-byte `*1048576` header would
        // otherwise allocate 24 MiB, again on every read until the rest arrives.
        elements.reserveCapacity(min(Int(count), (buffer.writerIndex - elementsStart) / 3))
        for _ in 0..<count {
            guard let element = try parseValue(depth: depth) else { return nil }
            elements.append(element)
        }
        return .array(elements)
    }

    private func readLine(from start: Int) throws(RESPError) -> ([UInt8], Int)? {
        try RESPValue.readLine(in: buffer, from: start, limits: limits)
    }

    private func parseInteger(_ line: [UInt8], what: String) throws(RESPError) -> Int64 {
        try RESPValue.parseInteger(line, what: what)
    }
}
#endif  // Redis
