/// A second, independent base64url (RFC 4648 §5) codec, written differently
/// from the library's, to check the library's answers against.
///
/// `decode` is as strict as the library promises to be: no padding, no
/// whitespace, no length of 1 mod 4 and no non-zero leftover bits, so each
/// byte string has exactly one accepted text.
public enum ReferenceBase64URL {
    private static func sextet(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): UInt32(byte - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): UInt32(byte - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }

    private static func character(_ value: UInt32) -> UInt8 {
        switch value {
        case 0..<26: UInt8(ascii: "A") + UInt8(value)
        case 26..<52: UInt8(ascii: "a") + UInt8(value - 26)
        case 52..<62: UInt8(ascii: "0") + UInt8(value - 52)
        case 62: UInt8(ascii: "-")
        default: UInt8(ascii: "_")
        }
    }

    /// The bytes `text` encodes, or `nil` unless it is canonical unpadded base64url.
    public static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let characters = Array(text)
        var output: [UInt8] = []
        var start = 0
        while start < characters.count {
            let group = characters[start..<min(start + 4, characters.count)]
            var values: [UInt32] = []
            for byte in group {
                guard let value = sextet(byte) else { return nil }
                values.append(value)
            }
            let word = values.enumerated().reduce(UInt32(0)) { $0 | $1.element << UInt32(18 - 6 * $1.offset) }
            switch values.count {
            case 4:
                output += [UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF), UInt8(word & 0xFF)]
            case 3:
                guard word & 0xFF == 0 else { return nil }
                output += [UInt8(word >> 16 & 0xFF), UInt8(word >> 8 & 0xFF)]
            case 2:
                guard word & 0xFFFF == 0 else { return nil }
                output.append(UInt8(word >> 16 & 0xFF))
            default:
                return nil
            }
            start += 4
        }
        return output
    }

    /// `bytes` as unpadded base64url.
    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let bytes = Array(bytes)
        var output: [UInt8] = []
        var start = 0
        while start < bytes.count {
            let group = bytes[start..<min(start + 3, bytes.count)]
            let word = group.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << UInt32(16 - 8 * $1.offset) }
            for index in 0...group.count {
                output.append(character(word >> UInt32(18 - 6 * index) & 0x3F))
            }
            start += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
