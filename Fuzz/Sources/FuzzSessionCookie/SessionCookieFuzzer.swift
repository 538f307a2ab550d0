import FuzzSupport
import Logging
import SessionKit

// Fuzzes the session cookie decoding: `SessionEngine.token(fromCookieHeader:)`
// on the whole input as a Cookie header, and `SessionToken(_:)` and
// `SessionKey(hex:)` on the whole input as a cookie value (all public API).
//
// Invariants: a token is found only when the header has exactly one session
// cookie whose value is 43 characters of canonical base64url for 32 bytes (the
// reference decoder's answer); a decoded token re-encodes to the very string it
// came from; and a key is accepted only as 64 lowercase hexadecimal digits.

private let engine: SessionEngine = {
    do {
        return try SessionEngine(store: MemoryStore(), logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
    } catch {
        fatalError("engine: \(error)")
    }
}()

/// libFuzzer's callback: checks one input, and traps when an invariant breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSessionCookie(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: inputBytes(data, size), as: UTF8.self)

    // The input as a whole Cookie header.
    let token = engine.token(fromCookieHeader: text)
    let lookup = CookieHeader.lookup(engine.configuration.cookie.effectiveName, in: text)
    var expected: Substring?
    if case .single(let value) = lookup, value.utf8.count <= engine.configuration.maximumCookieValueLength,
        value.utf8.count == SessionToken.encodedLength, ReferenceBase64URL.decode(value.utf8)?.count == SessionToken.byteCount
    {
        expected = value
    }
    switch (token, expected) {
    case (nil, nil): break
    case (let token?, let value?):
        require(token.cookieValue == String(value), "a token does not re-encode to its cookie value")
    case (nil, _?):
        require(false, "a valid session cookie was not accepted")
    case (_?, nil):
        require(false, "a token came from a header without one valid session cookie")
    }

    // The input as a cookie value.
    let reference = ReferenceBase64URL.decode(text.utf8)
    if let parsed = SessionToken(text) {
        require(text.utf8.count == SessionToken.encodedLength && reference?.count == SessionToken.byteCount, "a malformed token was accepted")
        require(parsed.cookieValue == text, "a token does not re-encode to its text")
        require(SessionToken(parsed.cookieValue) == parsed, "a token's text parses to another token")
        let key = parsed.key
        require(key.hex.utf8.count == 64 && SessionKey(hex: key.hex) == key, "a token's key does not round-trip")
    } else {
        require(text.utf8.count != SessionToken.encodedLength || reference?.count != SessionToken.byteCount, "a valid token was refused")
    }

    let isKeyText = text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    if let key = SessionKey(hex: text) {
        require(isKeyText && key.hex == text, "a malformed key was accepted")
    } else {
        require(!isKeyText, "a valid key was refused")
    }
    return 0
}

/// The program\'s entry point, which SwiftPM links as `main` (see ``runFuzzer(_:_:_:)``).
@_cdecl("FuzzSessionCookie_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzSessionCookie)
}
