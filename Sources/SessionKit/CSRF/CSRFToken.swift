import Synchronization

/// CSRF secrets and their masked form.
///
/// A session keeps one 32-byte secret (under ``sessionKey``). Every token handed
/// to a page is `base64url(pad ‖ (secret ⊕ pad))` with a fresh random pad, so no
/// two responses carry the same bytes (BREACH on compressed pages learns
/// nothing) and the secret itself is never sent. Verification unmasks and
/// compares in constant time.
enum CSRFToken {
    /// Where the secret lives in the session.
    static let sessionKey = "_csrf"
    static let secretLength = 32
    /// The length of a masked token's text: 64 bytes in unpadded base64url.
    static let maskedLength = 86

    static func generateSecret() -> String {
        Base64URL.encode(randomBytes(secretLength))
    }

    static func mask(secret: String) -> String? {
        guard let secretBytes = Base64URL.decode(secret.utf8), secretBytes.count == secretLength else { return nil }
        let pad = randomBytes(secretLength)
        var output = pad
        output.reserveCapacity(secretLength * 2)
        for index in 0..<secretLength { output.append(secretBytes[index] ^ pad[index]) }
        return Base64URL.encode(output)
    }

    /// Whether `token` is a masked form of `secret`; constant time in the token's content.
    static func verify(_ token: some StringProtocol, secret: String) -> Bool {
        guard token.utf8.count == maskedLength,
            let bytes = Base64URL.decode(token.utf8), bytes.count == secretLength * 2,
            let secretBytes = Base64URL.decode(secret.utf8), secretBytes.count == secretLength
        else { return false }
        var unmasked = [UInt8](repeating: 0, count: secretLength)
        for index in 0..<secretLength { unmasked[index] = bytes[index] ^ bytes[secretLength + index] }
        return constantTimeEqual(unmasked, secretBytes)
    }

    /// `count` bytes from the system CSPRNG, eight per call to the generator
    /// (one `getrandom` each) rather than one call per byte.
    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 7)
        while bytes.count < count {
            withUnsafeBytes(of: generator.next().littleEndian) { bytes.append(contentsOf: $0) }
        }
        bytes.removeLast(bytes.count - count)
        return bytes
    }
}

extension RequestSession {
    /// A CSRF token to embed in a form field or page, masked afresh on every call.
    ///
    /// The first call creates the session's CSRF secret, which starts the
    /// session. Every returned string differs, and each one verifies against
    /// the same secret until ``regenerate()`` or ``invalidate()`` rotates it.
    public func csrfToken() -> String {
        let secret = state.withLock { state in
            if case .string(let secret)? = state.payload.values[CSRFToken.sessionKey], Base64URL.decode(secret.utf8)?.count == CSRFToken.secretLength {
                return secret
            }
            let secret = CSRFToken.generateSecret()
            state.apply(.set(CSRFToken.sessionKey, .string(secret)))
            return secret
        }
        // A secret that is valid base64url of the right length always masks.
        return CSRFToken.mask(secret: secret) ?? ""
    }

    /// Whether `token` is a valid masked CSRF token for this session.
    ///
    /// Use it in handlers that opt out of the automatic check (see
    /// ``CSRFConfiguration/excludedPaths``) and validate by hand.
    ///
    /// - Parameter token: The token the client sent.
    public func validateCSRFToken(_ token: some StringProtocol) -> Bool {
        guard let secret = csrfSecret else { return false }
        return CSRFToken.verify(token, secret: secret)
    }

    /// Checks a token by hand and throws when it is missing or wrong, for
    /// handlers of routes the automatic check skips.
    ///
    /// It checks only the token; ``SessionEngine/validateCSRF(_:session:formBody:)``
    /// also runs the origin check and finds the token in the request itself.
    ///
    /// - Parameter token: The token the client sent, `nil` when it sent none.
    /// - Throws: ``CSRFError`` with ``CSRFError/Code/missingToken`` for no or an
    ///   empty token, ``CSRFError/Code/tokenMismatch`` for one that is not this
    ///   session's (or when the session has no CSRF secret).
    public func validateCSRF(token: String?) throws(CSRFError) {
        guard let token, !token.isEmpty else { throw CSRFError(code: .missingToken) }
        guard validateCSRFToken(token) else { throw CSRFError(code: .tokenMismatch) }
    }

    /// The session's CSRF secret, if it has one.
    var csrfSecret: String? {
        state.withLock { state in
            guard case .string(let secret)? = state.payload.values[CSRFToken.sessionKey] else { return nil }
            return secret
        }
    }
}
