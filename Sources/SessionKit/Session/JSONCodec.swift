/// A small, strict JSON writer and reader for ``SessionValue``.
///
/// Foundation's `JSONSerialization` turns `1.0` into `1` and loses the
/// distinction between integers and doubles; this codec keeps it: a double is
/// always written with a fraction or an exponent, and a number without either
/// is read back as an integer.
enum JSONCodec {
    static let maximumDepth = 256

    // MARK: Writing

    /// What a write saw: how deep arrays and objects nested, and whether the
    /// text reads back as exactly the value written.
    struct Shape {
        /// The deepest nesting of arrays and objects written.
        var levels = 0
        /// `false` once a non-finite double was written (as `null`, which reads back as null).
        var readsBackIdentical = true
    }

    static func encode(_ value: SessionValue) -> [UInt8] {
        var output = [UInt8]()
        output.reserveCapacity(64)
        var shape = Shape()
        write(value, into: &output, depth: 0, shape: &shape)
        return output
    }

    /// The value's JSON, or `nil` when arrays and objects nest more than
    /// `maximumDepth` levels: the reader would refuse it.
    static func encode(_ value: SessionValue, maximumDepth: Int) -> [UInt8]? {
        var output = [UInt8]()
        output.reserveCapacity(64)
        var shape = Shape()
        write(value, into: &output, depth: 0, shape: &shape)
        return shape.levels <= maximumDepth ? output : nil
    }

    /// Writes `value`, a container `depth` levels down, recording in `shape`
    /// the deepest nesting of arrays and objects seen and any non-finite double.
    static func write(_ value: SessionValue, into output: inout [UInt8], depth: Int, shape: inout Shape) {
        switch value {
        case .null:
            output.append(contentsOf: "null".utf8)
        case .bool(let flag):
            output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .int(let number):
            writeInt(number, into: &output)
        case .double(let number):
            if !number.isFinite { shape.readsBackIdentical = false }
            writeDouble(number, into: &output)
        case .string(let text):
            writeString(text, into: &output)
        case .array(let elements):
            shape.levels = max(shape.levels, depth + 1)
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output, depth: depth + 1, shape: &shape)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            shape.levels = max(shape.levels, depth + 1)
            output.append(UInt8(ascii: "{"))
            var first = true
            // Keys in order, so the same value always encodes to the same bytes.
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                if !first { output.append(UInt8(ascii: ",")) }
                first = false
                writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                write(member, into: &output, depth: depth + 1, shape: &shape)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    static func writeDouble(_ number: Double, into output: inout [UInt8]) {
        guard number.isFinite else {
            output.append(contentsOf: "null".utf8)
            return
        }
        // Swift's shortest round-tripping representation; add ".0" when it has
        // neither fraction nor exponent so the reader knows it is a double.
        let text = number.description
        output.append(contentsOf: text.utf8)
        if !text.utf8.contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }) {
            output.append(contentsOf: ".0".utf8)
        }
    }

    static func writeInt(_ number: Int64, into output: inout [UInt8]) {
        if number < 0 { output.append(UInt8(ascii: "-")) }
        // The magnitude's digits, least significant first, then reversed into place.
        var magnitude = number.magnitude
        let start = output.count
        repeat {
            output.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        output[start...].reverse()
    }

    static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        let utf8 = text.utf8
        // Most strings need no escape: copy them whole.
        if !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            output.append(contentsOf: utf8)
            output.append(UInt8(ascii: "\""))
            return
        }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: output.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                output.append(contentsOf: "\\u00".utf8)
                output.append(hexDigit(byte >> 4))
                output.append(hexDigit(byte & 0x0F))
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    // MARK: Reading

    static func decode(_ bytes: [UInt8], maximumDepth: Int = maximumDepth) throws(SessionValueDecodingError) -> SessionValue {
        var reader = Reader(bytes: bytes, maximumDepth: maximumDepth)
        reader.skipWhitespace()
        let value = try reader.readValue(depth: 0)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw reader.error("unexpected bytes after the value") }
        return value
    }

    /// Reads a JSON object member by member, handing each key and value to
    /// `member` in order (a repeated key is handed over again), without building
    /// a dictionary of the members. The object counts as one level of nesting.
    static func decodeObject(
        _ bytes: [UInt8],
        maximumDepth: Int = maximumDepth,
        member: (String, SessionValue) -> Void
    ) throws(SessionValueDecodingError) {
        var reader = Reader(bytes: bytes, maximumDepth: maximumDepth)
        reader.skipWhitespace()
        guard reader.index < bytes.count, bytes[reader.index] == UInt8(ascii: "{") else { throw reader.error("expected an object") }
        try reader.readMembers(depth: 0, member)
        reader.skipWhitespace()
        guard reader.index == bytes.count else { throw reader.error("unexpected bytes after the value") }
    }

    struct Reader {
        let bytes: [UInt8]
        let maximumDepth: Int
        var index = 0

        init(bytes: [UInt8], maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
        }

        func error(_ reason: String) -> SessionValueDecodingError {
            SessionValueDecodingError(offset: index, reason: reason)
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ literal: StaticString) throws(SessionValueDecodingError) {
            let count = literal.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw error("truncated literal") }
            let matches = literal.withUTF8Buffer { buffer in
                buffer.elementsEqual(bytes[index..<index + count])
            }
            guard matches else { throw error("invalid literal") }
            index += count
        }

        mutating func readValue(depth: Int) throws(SessionValueDecodingError) -> SessionValue {
            guard index < bytes.count else { throw error("unexpected end of input") }
            let byte = bytes[index]
            // Only arrays and objects nest: a scalar inside the deepest allowed container is fine.
            guard depth < maximumDepth || (byte != UInt8(ascii: "[") && byte != UInt8(ascii: "{")) else {
                throw error("nested deeper than \(maximumDepth) levels")
            }
            switch byte {
            case UInt8(ascii: "n"):
                try expect("null")
                return .null
            case UInt8(ascii: "t"):
                try expect("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try expect("false")
                return .bool(false)
            case UInt8(ascii: "\""):
                return .string(try readString())
            case UInt8(ascii: "["):
                index += 1
                var elements = [SessionValue]()
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(elements)
                }
                while true {
                    skipWhitespace()
                    elements.append(try readValue(depth: depth + 1))
                    skipWhitespace()
                    guard index < bytes.count else { throw error("unterminated array") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else if bytes[index] == UInt8(ascii: "]") {
                        index += 1
                        return .array(elements)
                    } else {
                        throw error("expected ',' or ']'")
                    }
                }
            case UInt8(ascii: "{"):
                var members = [String: SessionValue]()
                try readMembers(depth: depth) { members[$0] = $1 }
                return .object(members)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try readNumber()
            default:
                throw error("unexpected byte")
            }
        }

        /// Reads the object at `index` (its `{` is `depth` levels down), handing each member to `member`.
        mutating func readMembers(depth: Int, _ member: (String, SessionValue) -> Void) throws(SessionValueDecodingError) {
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try readString()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                index += 1
                skipWhitespace()
                member(key, try readValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw error("unterminated object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return
                } else {
                    throw error("expected ',' or '}'")
                }
            }
        }

        mutating func readNumber() throws(SessionValueDecodingError) -> SessionValue {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid fraction") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid exponent") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if isInteger, index - start <= 18 {
                // Up to 18 digits cannot overflow Int64: read them without making a string.
                var magnitude: Int64 = 0
                let isNegative = bytes[start] == UInt8(ascii: "-")
                for byte in bytes[(isNegative ? start + 1 : start)..<index] { magnitude = magnitude * 10 + Int64(byte - UInt8(ascii: "0")) }
                return .int(isNegative ? -magnitude : magnitude)
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if isInteger, let number = Int64(text) { return .int(number) }
            guard let number = Double(text), number.isFinite else { throw error("number out of range") }
            return .double(number)
        }

        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        mutating func readString() throws(SessionValueDecodingError) -> String {
            index += 1  // The opening quote.
            // Most strings have no escape: make them straight from the input's bytes.
            var end = index
            while end < bytes.count {
                let byte = bytes[end]
                if byte == UInt8(ascii: "\"") {
                    guard let text = String(validating: bytes[index..<end], as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                    index = end + 1
                    return text
                }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                end += 1
            }
            var output = Array(bytes[index..<end])
            index = end
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "\""):
                    index += 1
                    // Reject invalid UTF-8 rather than repairing it, so a value never changes on a round trip.
                    guard let text = String(validating: output, as: UTF8.self) else { throw error("invalid UTF-8 in string") }
                    return text
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw error("unterminated escape") }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""): output.append(UInt8(ascii: "\""))
                    case UInt8(ascii: "\\"): output.append(UInt8(ascii: "\\"))
                    case UInt8(ascii: "/"): output.append(UInt8(ascii: "/"))
                    case UInt8(ascii: "b"): output.append(0x08)
                    case UInt8(ascii: "f"): output.append(0x0C)
                    case UInt8(ascii: "n"): output.append(0x0A)
                    case UInt8(ascii: "r"): output.append(0x0D)
                    case UInt8(ascii: "t"): output.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try readHex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw error("unpaired surrogate")
                            }
                            index += 2
                            let low = try readHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw error("unpaired surrogate")
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid escape") }
                        output.append(contentsOf: String(Character(unicode)).utf8)
                    default:
                        throw error("invalid escape")
                    }
                case 0x00..<0x20:
                    throw error("control character in string")
                default:
                    output.append(byte)
                    index += 1
                }
            }
        }

        mutating func readHex4() throws(SessionValueDecodingError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw error("invalid \\u escape")
                }
                value = value << 4 | digit
                index += 1
            }
            return value
        }
    }
}
