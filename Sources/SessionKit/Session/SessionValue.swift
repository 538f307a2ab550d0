public import Foundation

/// A value kept in a session: JSON's kinds, with integers and doubles kept apart
/// so that every value round-trips exactly through every store.
///
/// Integers are 64-bit; doubles are finite (a non-finite double is stored as
/// ``null``, as `JSON.stringify` does); strings hold any Unicode text.
/// Literals build values directly:
///
/// ```swift
/// context.session.put("cart", ["items": [1, 2, 3], "coupon": nil, "total": 9.5])
/// ```
public enum SessionValue: Sendable, Hashable {
    /// JSON `null`.
    case null
    /// A boolean.
    case bool(Bool)
    /// A 64-bit signed integer.
    case int(Int64)
    /// A finite double.
    case double(Double)
    /// A Unicode string.
    case string(String)
    /// An ordered list of values.
    case array([SessionValue])
    /// A map from string keys to values.
    case object([String: SessionValue])
}

extension SessionValue {
    /// The string, if this value is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, if this value is an integer.
    public var intValue: Int64? {
        if case .int(let value) = self { return value }
        return nil
    }

    /// The number as a double, if this value is a double or an integer.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): return value
        case .int(let value): return Double(value)
        default: return nil
        }
    }

    /// The boolean, if this value is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, if this value is an array.
    public var arrayValue: [SessionValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, if this value is an object.
    public var objectValue: [String: SessionValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this value is ``null``.
    public var isNull: Bool { self == .null }
}

extension SessionValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// Creates ``null``.
    public init(nilLiteral: ()) { self = .null }
    /// Creates a boolean.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// Creates an integer.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// Creates a double.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// Creates a string.
    public init(stringLiteral value: String) { self = .string(value) }
    /// Creates an array.
    public init(arrayLiteral elements: SessionValue...) { self = .array(elements) }
    /// Creates an object; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, SessionValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension SessionValue: ExpressibleByStringInterpolation {
    /// Creates a string from an interpolated literal, as in `flash("success", "Welcome, \(name)")`.
    ///
    /// - Parameter stringInterpolation: The interpolated literal.
    public init(stringInterpolation: DefaultStringInterpolation) {
        self = .string(String(stringInterpolation: stringInterpolation))
    }
}

extension SessionValue {
    /// Creates a string value.
    ///
    /// - Parameter value: The string.
    public init(_ value: String) { self = .string(value) }
    /// Creates an integer value.
    ///
    /// - Parameter value: The integer.
    public init(_ value: Int) { self = .int(Int64(value)) }
    /// Creates an integer value.
    ///
    /// - Parameter value: The integer.
    public init(_ value: Int64) { self = .int(value) }
    /// Creates a double value; a non-finite double becomes ``null``.
    ///
    /// - Parameter value: The double.
    public init(_ value: Double) { self = value.isFinite ? .double(value) : .null }
    /// Creates a boolean value.
    ///
    /// - Parameter value: The boolean.
    public init(_ value: Bool) { self = .bool(value) }

    /// Converts any `Encodable` value, through its JSON form.
    ///
    /// Integers become ``int(_:)``, numbers with a fraction or exponent ``double(_:)``.
    ///
    /// - Parameter value: The value to convert.
    /// - Throws: `EncodingError` when the value cannot be encoded as JSON.
    public init(encoding value: some Encodable) throws {
        let encoder = JSONEncoder()
        let data = try encoder.encode(value)
        self = try JSONCodec.decode(Array(data))
    }

    /// Converts this value to a `Decodable` type, through its JSON form.
    ///
    /// - Parameter type: The type to decode.
    /// - Returns: The decoded value.
    /// - Throws: `DecodingError` when the value does not have the type's shape.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        let decoder = JSONDecoder()
        return try decoder.decode(T.self, from: Data(JSONCodec.encode(self)))
    }

    /// The value as JSON text.
    public var jsonText: String { String(decoding: JSONCodec.encode(self), as: UTF8.self) }

    /// Parses JSON text into a value.
    ///
    /// - Parameter jsonText: UTF-8 JSON (RFC 8259), nested at most 256 levels.
    /// - Throws: ``SessionValueDecodingError`` when the text is not valid JSON.
    public init(jsonText: some StringProtocol) throws {
        self = try JSONCodec.decode(Array(jsonText.utf8))
    }

    /// Parses JSON bytes into a value.
    ///
    /// - Parameter jsonBytes: UTF-8 JSON (RFC 8259), nested at most 256 levels.
    /// - Throws: ``SessionValueDecodingError`` when the bytes are not valid JSON.
    public init(jsonBytes: some Collection<UInt8>) throws {
        self = try JSONCodec.decode(Array(jsonBytes))
    }
}

extension SessionValue: Codable {
    /// Decodes a value from any decoder that speaks JSON's kinds.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = SessionValue(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([SessionValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: SessionValue].self))
        }
    }

    /// Encodes the value as its JSON kind.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

/// JSON that could not be parsed into a ``SessionValue``.
public struct SessionValueDecodingError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The byte offset at which parsing failed.
    public var offset: Int
    /// What was wrong there.
    public var reason: String

    /// `"invalid JSON at byte <offset>: <reason>"`.
    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}
