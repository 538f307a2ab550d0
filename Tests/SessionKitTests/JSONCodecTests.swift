import Foundation
import SessionKit
import Testing

/// The JSON form of ``SessionValue`` that every store keeps: exact round trips,
/// integers kept apart from doubles, and strict parsing.
@Suite struct JSONCodecTests {
    /// Same kind, strings byte for byte and doubles bit for bit (`==` treats
    /// canonically equivalent strings, and -0.0 and 0.0, as equal).
    private static func isIdentical(_ lhs: SessionValue, _ rhs: SessionValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case (.bool(let left), .bool(let right)): return left == right
        case (.int(let left), .int(let right)): return left == right
        case (.double(let left), .double(let right)): return left.bitPattern == right.bitPattern
        case (.string(let left), .string(let right)): return left.utf8.elementsEqual(right.utf8)
        case (.array(let left), .array(let right)):
            return left.count == right.count && zip(left, right).allSatisfy { isIdentical($0, $1) }
        case (.object(let left), .object(let right)):
            guard left.count == right.count else { return false }
            return left.allSatisfy { key, value in
                guard let index = right.index(forKey: key) else { return false }
                return right[index].key.utf8.elementsEqual(key.utf8) && isIdentical(value, right[index].value)
            }
        default: return false
        }
    }

    private static func nestedArrays(_ depth: Int, innermost: String = "") -> String {
        String(repeating: "[", count: depth) + innermost + String(repeating: "]", count: depth)
    }

    // MARK: Writing

    @Test(
        arguments: [
            (SessionValue.null, "null"),
            (.bool(true), "true"),
            (.bool(false), "false"),
            (.int(0), "0"),
            (.int(-1), "-1"),
            (.int(.min), "-9223372036854775808"),
            (.int(.max), "9223372036854775807"),
            (.double(1.0), "1.0"),
            (.double(100), "100.0"),
            (.double(-0.0), "-0.0"),
            (.double(0.1), "0.1"),
            (.double(-2.5), "-2.5"),
            (.double(1e300), "1e+300"),
            (.double(.leastNonzeroMagnitude), "5e-324"),
            (.string(""), "\"\""),
            (.string("a\"b\\c/d"), "\"a\\\"b\\\\c/d\""),
            (.string("\n\r\t"), "\"\\n\\r\\t\""),
            (.string("\u{0}\u{8}\u{C}\u{1F}"), "\"\\u0000\\u0008\\u000c\\u001f\""),
            (.string("\u{7F}\u{2028}\u{2029}é😀"), "\"\u{7F}\u{2028}\u{2029}é😀\""),
            (.array([]), "[]"),
            (.object([:]), "{}"),
            ([1, [2.0, nil], "x"], "[1,[2.0,null],\"x\"]"),
            (["key \"q\"": [true]], "{\"key \\\"q\\\"\":[true]}"),
        ] as [(SessionValue, String)])
    func writes(_ value: SessionValue, as text: String) {
        #expect(value.jsonText == text)
    }

    @Test(arguments: [Double.infinity, -Double.infinity, Double.nan, Double.signalingNaN])
    func aNonFiniteDoubleIsWrittenAsNull(_ number: Double) {
        #expect(SessionValue.double(number).jsonText == "null")
        #expect(SessionValue.array([.double(number)]).jsonText == "[null]")
        #expect(SessionValue(number) == .null)
    }

    // MARK: Round trips

    @Test(
        arguments: [
            SessionValue.null, true, false, 0, -1, .int(.min), .int(.max),
            1.0, -0.0, 0.1, 1e300, .double(.leastNonzeroMagnitude), .double(.greatestFiniteMagnitude), .double(-.leastNormalMagnitude), 123456789.125,
            "", "plain", "😀👩‍👩‍👧‍👦🇫🇷", "e\u{301}", "\u{E9}", "שלום مرحبا", "\u{0}\u{1}\u{1F}\u{7F}", "\u{2028}\u{2029}", "\u{FEFF}",
            "\u{10FFFF}\u{E000}", "\"\\/\\u0041",
            [], [:], [1, 1.0, "1", nil, true, [], [:]], ["": 0, "ü": [1], "a\"b": ["c": nil]],
        ] as [SessionValue])
    func roundTrips(_ value: SessionValue) throws {
        let decoded = try SessionValue(jsonText: value.jsonText)

        #expect(decoded == value)
        #expect(Self.isIdentical(decoded, value), "decoded \(decoded.jsonText), wrote \(value.jsonText)")
    }

    @Test func deeplyNestedValuesRoundTrip() throws {
        var value: SessionValue = "bottom"
        for level in 0..<200 {
            value = level.isMultiple(of: 2) ? [value, .int(Int64(level))] : ["level": value, "double": .double(Double(level) + 0.5)]
        }

        #expect(Self.isIdentical(try SessionValue(jsonText: value.jsonText), value))
    }

    // MARK: Reading

    @Test(
        arguments: [
            ("1", SessionValue.int(1)),
            ("-0", .int(0)),
            ("1.0", .double(1)),
            ("1e2", .double(100)),
            ("1E+2", .double(100)),
            ("25e-1", .double(2.5)),
            ("0.5", .double(0.5)),
            ("-9223372036854775808", .int(.min)),
            ("9223372036854775808", .double(9.223372036854775808e18)),
            (" \t\r\n[ 1 , 2 ]\n", [1, 2]),
            ("{\"a\":1,\"a\":2}", ["a": 2]),
            ("\"\\ud83d\\ude00\"", "😀"),
            ("\"\\uD83D\\uDE00\"", "😀"),
            ("\"\\u00e9\\u0000\"", "é\u{0}"),
            ("\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "/\u{8}\u{C}\n\r\t\"\\"),
            ("\"\u{2028}\"", "\u{2028}"),
        ] as [(String, SessionValue)])
    func reads(_ text: String, as value: SessionValue) throws {
        #expect(Self.isIdentical(try SessionValue(jsonText: text), value))
    }

    @Test func aNegativeZeroKeepsItsSign() throws {
        let value = try SessionValue(jsonText: "-0.0")

        #expect(value.doubleValue?.sign == .minus)
    }

    @Test(arguments: [
        "", " ", "1 2", "{} x", "[] ]", "nulls",
        "[1,]", "[1", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "'a'", "{\"a\" 1}",
        "tru", "nul", "True", "NaN", "Infinity", "-Infinity",
        "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1e400", "-1e400",
        "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\ud83dx\"", "\"\\ud83d\\\"",
        "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\u{1}\"", "\"a\nb\"", "\"unterminated", "\"\\",
    ])
    func refusesInvalidText(_ text: String) {
        #expect(throws: SessionValueDecodingError.self) { try SessionValue(jsonText: text) }
    }

    @Test(
        arguments: [
            [0x22, 0xFF, 0x22],
            [0x22, 0xC3, 0x22],
            [0x22, 0xC0, 0xAF, 0x22],
            [0x22, 0xED, 0xA0, 0x80, 0x22],
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
            [0xEF, 0xBB, 0xBF, 0x31],
        ] as [[UInt8]])
    func refusesInvalidUTF8(_ bytes: [UInt8]) {
        #expect(throws: SessionValueDecodingError.self) { try SessionValue(jsonBytes: bytes) }
    }

    @Test func readsNestingUpTo256Levels() throws {
        #expect(throws: Never.self) { try SessionValue(jsonText: Self.nestedArrays(256)) }
        #expect(throws: Never.self) { try SessionValue(jsonText: Self.nestedArrays(256, innermost: "1")) }
        #expect(throws: Never.self) {
            try SessionValue(jsonText: String(repeating: "{\"a\":", count: 256) + "1" + String(repeating: "}", count: 256))
        }
    }

    @Test func refusesNestingDeeperThan256Levels() {
        #expect(throws: SessionValueDecodingError.self) { try SessionValue(jsonText: Self.nestedArrays(257)) }
        #expect(throws: SessionValueDecodingError.self) { try SessionValue(jsonText: Self.nestedArrays(257, innermost: "1")) }
        #expect(throws: SessionValueDecodingError.self) {
            try SessionValue(jsonText: String(repeating: "{\"a\":", count: 257) + "1" + String(repeating: "}", count: 257))
        }
        #expect(throws: SessionValueDecodingError.self) { try SessionValue(jsonText: Self.nestedArrays(100_000)) }
    }

    @Test func anErrorSaysWhereParsingFailed() {
        let error = #expect(throws: SessionValueDecodingError.self) { try SessionValue(jsonText: "[1, 2, x]") }

        #expect(error?.offset == 7)
        #expect(error?.description.hasPrefix("invalid JSON at byte 7:") == true)
    }
}
