import FuzzSupport

// `CSRFToken` is internal: reached with `@testable import` (scripts/fuzz builds with `-enable-testing`).
@testable import SessionKit

// Fuzzes CSRF token masking and verification. The input's first 32 bytes
// (zero-padded) are a secret, the rest is a token as a client would send it;
// the whole input is also tried as a secret's text.
//
// Invariants: `verify` accepts a token exactly when it is 86 characters of
// canonical base64url for 64 bytes whose halves XOR to the secret (worked out
// here with the reference decoder); `mask` then `verify` is true for every
// secret and false for a secret that differs in one bit; `mask` accepts a
// secret text exactly when it is canonical base64url for 32 bytes; two masks
// of one secret differ.

/// libFuzzer's callback: checks one input, and traps when an invariant breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSRFToken(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = inputBytes(data, size)
    let length = CSRFToken.secretLength
    var secretBytes = Array(input.prefix(length))
    secretBytes += [UInt8](repeating: 0, count: length - secretBytes.count)
    let secret = ReferenceBase64URL.encode(secretBytes)
    let token = String(decoding: input.dropFirst(length), as: UTF8.self)

    // An arbitrary token against a known secret.
    var expected = false
    if token.utf8.count == CSRFToken.maskedLength, let bytes = ReferenceBase64URL.decode(token.utf8), bytes.count == 2 * length {
        expected = (0..<length).allSatisfy { bytes[$0] ^ bytes[length + $0] == secretBytes[$0] }
    }
    require(CSRFToken.verify(token, secret: secret) == expected, "verify disagrees with the reference (expected \(expected))")

    // Masking round-trips, and never verifies against a different secret.
    guard let masked = CSRFToken.mask(secret: secret), let again = CSRFToken.mask(secret: secret) else {
        require(false, "a valid secret did not mask")
        return 0
    }
    require(masked.utf8.count == CSRFToken.maskedLength, "a masked token is \(masked.utf8.count) characters")
    require(masked != again, "two masks of one secret are equal")
    require(CSRFToken.verify(masked, secret: secret) && CSRFToken.verify(again, secret: secret), "unmask(mask(secret)) != secret")
    var other = secretBytes
    let bit = Int(input.last ?? 0)
    other[bit / 8 % length] ^= 1 << UInt8(bit % 8)
    require(!CSRFToken.verify(masked, secret: ReferenceBase64URL.encode(other)), "a token verified against a different secret")

    // The whole input as a secret's text, as the session holds it.
    let text = String(decoding: input, as: UTF8.self)
    let isSecret = ReferenceBase64URL.decode(text.utf8)?.count == length
    if let maskedText = CSRFToken.mask(secret: text) {
        require(isSecret, "a malformed secret was masked")
        require(CSRFToken.verify(maskedText, secret: text), "a token masked from the input does not verify")
    } else {
        require(!isSecret, "a valid secret text did not mask")
    }
    if !isSecret {
        require(!CSRFToken.verify(token, secret: text), "a token verified against a malformed secret")
    }
    return 0
}

/// The program\'s entry point, which SwiftPM links as `main` (see ``runFuzzer(_:_:_:)``).
@_cdecl("FuzzCSRFToken_main")
public func entry(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzCSRFToken)
}
