import FuzzSupport
import NIOCore

// `RESPValue` and its decoder are internal to SessionKitRedis: reached with
// `@testable import` (scripts/fuzz builds with `-enable-testing`).
@testable import SessionKitRedis

// Fuzzes the RESP2 reply decoder, `RESPValue(consuming:limits:)`, on the input
// as a stream of replies, once with the standard limits and once with tight ones
// (so the depth, size, element and line limits are reached).
//
// Invariants, for each step: the decoder needs more data (and consumes nothing),
// throws `RESPError`, or returns a value whose bytes are exactly the ones it
// consumed (checked by walking the bytes against the value); the value keeps to
// the limits; its canonical encoding decodes back to the same value; and every
// strict prefix of a value's bytes needs more data rather than failing.

private let tight = RESPValue.DecodingLimits(maximumDepth: 3, maximumReplyBytes: 64, maximumElements: 8, maximumLineLength: 16)
/// Large enough for anything a 64 KiB input holds, even after invalid UTF-8 grows to U+FFFD.
private let roomy = RESPValue.DecodingLimits(maximumDepth: 1 << 16, maximumReplyBytes: 1 << 30, maximumElements: 1 << 30, maximumLineLength: 1 << 30)

/// libFuzzer's callback: checks one input, and traps when an invariant breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRESPReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(inputBytes(data, size))
    decodeStream(input, limits: .standard)
    decodeStream(input, limits: tight)
    return 0
}

private func decodeStream(_ input: [UInt8], limits: RESPValue.DecodingLimits) {
    var buffer = ByteBuffer(bytes: input)
    // A reply is at least 3 bytes, so this bounds the loop; the cap keeps slow inputs fast.
    for step in 0..<64 {
        let start = buffer.readerIndex
        let value: RESPValue
        do {
            guard let decoded = try RESPValue(consuming: &buffer, limits: limits) else {
                require(buffer.readerIndex == start, "a partial reply consumed bytes")
                if limits == tight { checkCompletes(input[start...]) }
                return
            }
            value = decoded
        } catch {
            return
        }
        let consumed = input[start..<buffer.readerIndex]
        require(!consumed.isEmpty, "a value consumed no bytes")
        var index = consumed.startIndex
        require(matches(value, consumed, at: &index) && index == consumed.endIndex, "a value is not the bytes it consumed: \(value)")
        var usage = Usage()
        usage.add(value, depth: 0)
        require(
            usage.depth <= limits.maximumDepth && usage.bulkBytes <= limits.maximumReplyBytes && usage.elements <= limits.maximumElements,
            "a value breaks the limits: \(usage)"
        )
        checkRoundTrip(value)
        // The first few values are enough: the split points are the slow part.
        if step < 4 { checkPrefixes(Array(consumed), limits: limits) }
    }
}

/// Walks `bytes` from `index` as the wire form of `value`; false at the first difference.
private func matches(_ value: RESPValue, _ bytes: ArraySlice<UInt8>, at index: inout Int) -> Bool {
    guard index < bytes.endIndex else { return false }
    let type = bytes[index]
    guard let carriageReturn = bytes[(index + 1)...].firstIndex(of: UInt8(ascii: "\r")),
        carriageReturn + 1 < bytes.endIndex, bytes[carriageReturn + 1] == UInt8(ascii: "\n")
    else { return false }
    let line = bytes[(index + 1)..<carriageReturn]
    let lineText = String(decoding: line, as: UTF8.self)
    index = carriageReturn + 2
    switch value {
    case .simpleString(let text):
        return type == UInt8(ascii: "+") && lineText == text
    case .error(let text):
        return type == UInt8(ascii: "-") && lineText == text
    case .integer(let number):
        return type == UInt8(ascii: ":") && Int64(lineText) == number
    case .null:
        // The decoder reads lengths as decimal numbers, so `-01` is -1 as well.
        return (type == UInt8(ascii: "$") || type == UInt8(ascii: "*")) && Int64(lineText) == -1
    case .bulkString(let body):
        guard type == UInt8(ascii: "$"), Int(lineText) == body.readableBytes else { return false }
        let end = index + body.readableBytes
        guard end + 2 <= bytes.endIndex, bytes[index..<end].elementsEqual(body.readableBytesView),
            bytes[end] == UInt8(ascii: "\r"), bytes[end + 1] == UInt8(ascii: "\n")
        else { return false }
        index = end + 2
        return true
    case .array(let elements):
        guard type == UInt8(ascii: "*"), Int(lineText) == elements.count else { return false }
        for element in elements {
            guard matches(element, bytes, at: &index) else { return false }
        }
        return true
    }
}

private struct Usage: CustomStringConvertible {
    var depth = 0
    var bulkBytes = 0
    var elements = 0

    mutating func add(_ value: RESPValue, depth level: Int) {
        switch value {
        case .bulkString(let body):
            bulkBytes += body.readableBytes
        case .array(let values):
            depth = max(depth, level + 1)
            elements += values.count
            for value in values { add(value, depth: level + 1) }
        default:
            break
        }
    }

    var description: String { "depth \(depth), \(bulkBytes) bulk bytes, \(elements) elements" }
}

/// The canonical RESP2 encoding of `value`.
private func encode(_ value: RESPValue, into output: inout [UInt8]) {
    func line(_ type: Character, _ text: String) {
        output.append(contentsOf: "\(type)\(text)\r\n".utf8)
    }
    switch value {
    case .simpleString(let text): line("+", text)
    case .error(let text): line("-", text)
    case .integer(let number): line(":", String(number))
    case .null: line("$", "-1")
    case .bulkString(let body):
        line("$", String(body.readableBytes))
        output.append(contentsOf: body.readableBytesView)
        output.append(contentsOf: "\r\n".utf8)
    case .array(let values):
        line("*", String(values.count))
        for value in values { encode(value, into: &output) }
    }
}

private func checkRoundTrip(_ value: RESPValue) {
    var encoded: [UInt8] = []
    encode(value, into: &encoded)
    var buffer = ByteBuffer(bytes: encoded)
    do {
        let decoded = try RESPValue(consuming: &buffer, limits: roomy)
        require(decoded == value && buffer.readableBytes == 0, "the canonical encoding of \(value) decodes differently")
    } catch {
        require(false, "the canonical encoding of \(value) fails to decode: \(error)")
    }
}

/// A reply that needs more data must be finished (or refused) by more data.
///
/// Under the tight limits a reply declares at most 64 bulk bytes and 8 elements,
/// so 256 integer replies appended to it end every line, fill every bulk string
/// and supply every element: the decoder must then return a value or throw.
/// Still needing more data means it would wait forever on a complete reply.
private func checkCompletes(_ partial: ArraySlice<UInt8>) {
    var buffer = ByteBuffer(bytes: partial)
    for _ in 0..<256 { buffer.writeStaticString(":0\r\n") }
    do {
        let value = try RESPValue(consuming: &buffer, limits: tight)
        require(value != nil, "a partial reply still needs more data after every line, bulk string and element was supplied")
    } catch {
        // Refusing it is an answer too.
    }
}

/// Every strict prefix of a complete value is "need more data" (checked at up to 16 lengths).
private func checkPrefixes(_ bytes: [UInt8], limits: RESPValue.DecodingLimits) {
    let lengths: [Int] =
        bytes.count <= 16
        ? Array(0..<bytes.count)
        : Array(0..<4) + (1...8).map { bytes.count * $0 / 9 } + ((bytes.count - 4)..<bytes.count)
    for length in lengths {
        var buffer = ByteBuffer(bytes: bytes[..<length])
        do {
            let value = try RESPValue(consuming: &buffer, limits: limits)
            require(value == nil && buffer.readableBytes == length, "a \(length)-byte prefix of a reply decoded to \(value.map { "\($0)" } ?? "nil")")
        } catch {
            require(false, "a \(length)-byte prefix of a valid reply failed: \(error)")
        }
    }
}

/// The program\'s entry point, which SwiftPM links as `main` (see ``runFuzzer(_:_:_:)``).
@_cdecl("FuzzRESPReply_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzRESPReply)
}
