import FuzzSupport
import SessionKit

// Fuzzes `CookieHeader.parse` and `CookieHeader.lookup` (public API) with any
// text: the header the engine reads the session cookie from.
//
// Invariants: names are non-empty, trimmed and hold no `;` or `=`; values hold
// no `;` and are trimmed unless they were quoted; pairs come in order without
// overlapping; `lookup` agrees with `parse` for every name (absent, single with
// the same value, repeated); and a header given as a slice of a longer string
// reads the same as on its own.

private let namesAlwaysLookedUp = ["__Host-sessionkit", "a"]

private func isWhitespace(_ byte: UInt8?) -> Bool {
    byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
}

/// libFuzzer's callback: checks one input, and traps when an invariant breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCookieHeader(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let header = String(decoding: inputBytes(data, size), as: UTF8.self)
    let pairs = CookieHeader.parse(header)

    var previousEnd = header.startIndex
    for (name, value) in pairs {
        require(!name.isEmpty, "an empty name")
        require(!name.utf8.contains(UInt8(ascii: ";")) && !name.utf8.contains(UInt8(ascii: "=")), "a name holds ';' or '='")
        require(!isWhitespace(name.utf8.first) && !isWhitespace(name.utf8.last), "a name is not trimmed")
        require(!value.utf8.contains(UInt8(ascii: ";")), "a value holds ';'")
        require(name.startIndex >= previousEnd && value.startIndex >= name.endIndex, "pairs overlap or are out of order")
        let wasQuoted =
            value.startIndex > header.startIndex && value.endIndex < header.endIndex
            && header.utf8[header.utf8.index(before: value.startIndex)] == UInt8(ascii: "\"")
            && header.utf8[value.endIndex] == UInt8(ascii: "\"")
        require(wasQuoted || (!isWhitespace(value.utf8.first) && !isWhitespace(value.utf8.last)), "a value is not trimmed")
        previousEnd = value.endIndex
    }

    // Look up a few names, so a header of thousands of pairs stays linear: each lookup reads it all.
    var names = namesAlwaysLookedUp
    for (name, _) in pairs.prefix(3) where !names.contains(where: { $0.utf8.elementsEqual(name.utf8) }) {
        names.append(String(name))
    }
    // The same header as the tail of a longer string: slices must keep to their bounds.
    let padded = "x=1; __Host-sessionkit=outside;" + header
    let slice = padded[padded.utf8.index(padded.startIndex, offsetBy: padded.utf8.count - header.utf8.count)...]
    for name in names {
        let matches = pairs.filter { $0.name.utf8.elementsEqual(name.utf8) }
        let lookup = CookieHeader.lookup(name, in: header)
        switch lookup {
        case .absent:
            require(matches.isEmpty, "lookup(\(name)) is absent but parse found it")
        case .single(let value):
            require(matches.count == 1, "lookup(\(name)) is single but parse found \(matches.count)")
            require(value.utf8.elementsEqual(matches[0].value.utf8), "lookup(\(name)) and parse disagree on the value")
        case .repeated:
            require(matches.count >= 2, "lookup(\(name)) is repeated but parse found \(matches.count)")
        }
        switch (CookieHeader.lookup(name, in: slice), lookup) {
        case (.absent, .absent), (.repeated, .repeated): break
        case (.single(let inSlice), .single(let alone)):
            require(inSlice.utf8.elementsEqual(alone.utf8), "a slice reads a different value")
        default:
            require(false, "lookup(\(name)) differs between the header and the same header as a slice")
        }
    }
    return 0
}

/// The program\'s entry point, which SwiftPM links as `main` (see ``runFuzzer(_:_:_:)``).
@_cdecl("FuzzCookieHeader_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzCookieHeader)
}
