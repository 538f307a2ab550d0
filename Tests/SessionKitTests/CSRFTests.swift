import Foundation
import SessionKit
import SessionKitConformance
import Testing

@Suite struct CSRFTests {
    /// A new, unsaved session with a CSRF secret, and a token for it.
    private func sessionWithToken(_ harness: EngineHarness) async throws -> (RequestSession, String) {
        let session = try await harness.load(nil)
        return (session, session.csrfToken())
    }

    /// The value of the cookie `name` set by `result`.
    private func cookieValue(_ name: String, in result: SessionCommitResult) throws -> String {
        let line = try #require(EngineHarness.setCookie(name, in: result))
        return String(line.prefix { $0 != ";" }.dropFirst(name.count + 1))
    }

    private func post(_ token: String?, path: String = "/account", contentType: String? = nil) -> CSRFRequest {
        CSRFRequest(method: "POST", path: path, host: "example.com", headerToken: token, contentType: contentType)
    }

    // MARK: Tokens

    @Test func everyTokenIsMaskedAfreshAndVerifies() async throws {
        let harness = try EngineHarness()
        let session = try await harness.load(nil)

        let first = session.csrfToken()
        let second = session.csrfToken()

        let secret = try #require(session.get("_csrf")?.stringValue)
        #expect(first != second)
        #expect(first.count == 86 && second.count == 86)
        #expect(session.validateCSRFToken(first))
        #expect(session.validateCSRFToken(second))
        #expect(!first.contains(secret) && !second.contains(secret))
        #expect(session.get("_csrf") == .string(secret), "masking a token must not change the secret")
    }

    @Test func theUnmaskedSecretIsNotAToken() async throws {
        let harness = try EngineHarness()
        let session = try await harness.load(nil)
        _ = session.csrfToken()
        let secret = try #require(session.get("_csrf")?.stringValue)

        #expect(!session.validateCSRFToken(secret))
        #expect(!session.validateCSRFToken(secret + secret))
    }

    @Test func aTokenStartsTheSession() async throws {
        let harness = try EngineHarness()
        let session = try await harness.load(nil)
        _ = session.csrfToken()

        #expect(session.isStarted)
        let result = try await harness.engine.commit(session)
        #expect(result.action == .created)
    }

    @Test func aTokenFromAnotherSessionFails() async throws {
        let harness = try EngineHarness()
        let (mine, _) = try await sessionWithToken(harness)
        let (_, theirs) = try await sessionWithToken(harness)

        #expect(!mine.validateCSRFToken(theirs))
        #expect(harness.engine.checkCSRF(post(theirs), session: mine, formBody: nil)?.code == .tokenMismatch)
    }

    @Test func aSessionWithoutASecretAcceptsNoToken() async throws {
        let harness = try EngineHarness()
        let (_, token) = try await sessionWithToken(harness)
        let fresh = try await harness.load(nil)

        #expect(!fresh.validateCSRFToken(token))
        #expect(harness.engine.checkCSRF(post(token), session: fresh, formBody: nil)?.code == .tokenMismatch)
    }

    @Test(arguments: [0, 1, 31, 42, 43, 44, 63, 84, 85])
    func aTokenWithOneCharacterChangedFails(at position: Int) async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)
        var characters = Array(token)
        characters[position] = characters[position] == "A" ? "B" : "A"
        let tampered = String(characters)

        #expect(tampered != token)
        #expect(!session.validateCSRFToken(tampered))
    }

    /// A token is `pad ‖ (secret ⊕ pad)`: flipping one bit in the pad and the same
    /// bit of the masked half is another masking of the same secret, and verifies,
    /// as every token minted by `csrfToken()` does. That is by design (BREACH
    /// masking hides the secret; it does not stop whoever holds one masking from
    /// making more), and it is why the hostile-input suite sends such a mutation
    /// made wrong instead of expecting a refusal. A flip in one half only never verifies.
    @Test(arguments: [0, 17, 31])
    func theSameBitFlippedInPadAndMaskedHalfIsAnotherMaskingOfTheSameSecret(byte: Int) async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)
        let bytes = try #require(Self.base64URLDecoded(token))
        #expect(bytes.count == 64)

        var both = bytes
        both[byte] ^= 0x10
        both[32 + byte] ^= 0x10
        var padOnly = bytes
        padOnly[byte] ^= 0x10
        var maskedOnly = bytes
        maskedOnly[32 + byte] ^= 0x10

        #expect(session.validateCSRFToken(Self.base64URLEncoded(both)))
        #expect(!session.validateCSRFToken(Self.base64URLEncoded(padOnly)))
        #expect(!session.validateCSRFToken(Self.base64URLEncoded(maskedOnly)))
    }

    private static func base64URLDecoded(_ text: String) -> [UInt8]? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map { Array($0) }
    }

    private static func base64URLEncoded(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test(arguments: [1, 2, 43, 85, 86])
    func aTruncatedTokenFails(droppingLast count: Int) async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)

        #expect(!session.validateCSRFToken(token.dropLast(count)))
    }

    @Test func aTokenWithExtraCharactersFails() async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)

        #expect(!session.validateCSRFToken(token + "A"))
        #expect(!session.validateCSRFToken(token + "=="))
        #expect(!session.validateCSRFToken(" " + token))
    }

    // MARK: The check

    struct CheckCase: Sendable, CustomTestStringConvertible {
        enum Token: Sendable { case none, empty, valid, wrong }

        var name: String
        var method = "POST"
        var host: String? = "example.com"
        var origin: String?
        var secFetchSite: String?
        var token = Token.valid
        var expected: CSRFError.Code?

        var testDescription: String { name }

        static let all: [CheckCase] = [
            // Safe methods are never checked.
            .init(name: "GET, cross-site, no token", method: "GET", secFetchSite: "cross-site", token: .none),
            .init(name: "HEAD without a token", method: "HEAD", token: .none),
            .init(name: "OPTIONS without a token", method: "OPTIONS", token: .none),
            .init(name: "TRACE without a token", method: "TRACE", token: .none),
            .init(name: "lowercase get without a token", method: "get", token: .none),
            // The token layer.
            .init(name: "POST without a token", token: .none, expected: .missingToken),
            .init(name: "POST with an empty token", token: .empty, expected: .missingToken),
            .init(name: "PUT without a token", method: "PUT", token: .none, expected: .missingToken),
            .init(name: "PATCH without a token", method: "PATCH", token: .none, expected: .missingToken),
            .init(name: "DELETE without a token", method: "DELETE", token: .none, expected: .missingToken),
            .init(name: "POST with a wrong token", token: .wrong, expected: .tokenMismatch),
            .init(name: "POST with the session's token"),
            // Sec-Fetch-Site first.
            .init(name: "same-origin with the token", secFetchSite: "same-origin"),
            .init(name: "same-origin without a token", secFetchSite: "same-origin", token: .none, expected: .missingToken),
            .init(name: "same-origin with a wrong token", secFetchSite: "same-origin", token: .wrong, expected: .tokenMismatch),
            .init(name: "Same-Origin in another case", secFetchSite: "Same-Origin"),
            .init(name: "none (typed URL, bookmark) with the token", secFetchSite: "none"),
            .init(name: "cross-site with the token", secFetchSite: "cross-site", expected: .crossOriginRequest),
            .init(name: "same-site (a sibling subdomain) with the token", secFetchSite: "same-site", expected: .crossOriginRequest),
            .init(
                name: "cross-site with a matching Origin",
                origin: "https://example.com",
                secFetchSite: "cross-site",
                expected: .crossOriginRequest
            ),
            .init(name: "cross-site from a trusted origin", origin: "https://admin.example.com", secFetchSite: "cross-site"),
            .init(
                name: "cross-site from a trusted origin without a token",
                origin: "https://admin.example.com",
                secFetchSite: "cross-site",
                token: .none,
                expected: .missingToken
            ),
            .init(
                name: "cross-site from a trusted origin with a wrong token",
                origin: "https://Admin.Example.com:443",
                secFetchSite: "cross-site",
                token: .wrong,
                expected: .tokenMismatch
            ),
            // No Sec-Fetch-Site: Origin against Host.
            .init(name: "Origin matching Host", origin: "https://example.com"),
            .init(name: "Origin matching Host, default port spelled out", host: "example.com:443", origin: "https://EXAMPLE.com"),
            .init(name: "Origin matching Host with a port", host: "example.com:8443", origin: "https://example.com:8443"),
            .init(name: "Origin on another port", host: "example.com:8443", origin: "https://example.com:9443", expected: .crossOriginRequest),
            .init(name: "Origin of another site", origin: "https://evil.example", expected: .crossOriginRequest),
            .init(name: "Origin with the host as a prefix", origin: "https://example.com.evil.example", expected: .crossOriginRequest),
            .init(name: "Origin of a subdomain", origin: "https://sub.example.com", expected: .crossOriginRequest),
            .init(name: "Origin matching but no Host", host: nil, origin: "https://example.com", expected: .crossOriginRequest),
            .init(name: "Origin null", origin: "null", expected: .crossOriginRequest),
            .init(name: "Origin matching without a token", origin: "https://example.com", token: .none, expected: .missingToken),
            .init(name: "trusted Origin without Sec-Fetch-Site", origin: "https://admin.example.com"),
            // Neither header: the token decides.
            .init(name: "neither header, with the token"),
            .init(name: "neither header, without a token", token: .none, expected: .missingToken),
            .init(name: "neither header, wrong token", token: .wrong, expected: .tokenMismatch),
        ]
    }

    private func trustingHarness() throws -> EngineHarness {
        try EngineHarness { $0.csrf.trustedOrigins = ["https://admin.example.com"] }
    }

    @Test(arguments: CheckCase.all)
    func checkCSRF(_ check: CheckCase) async throws {
        let harness = try trustingHarness()
        let (session, valid) = try await sessionWithToken(harness)
        let (_, wrong) = try await sessionWithToken(harness)
        let token: String? =
            switch check.token {
            case .none: nil
            case .empty: ""
            case .valid: valid
            case .wrong: wrong
            }
        let request = CSRFRequest(
            method: check.method,
            path: "/account",
            host: check.host,
            origin: check.origin,
            secFetchSite: check.secFetchSite,
            headerToken: token
        )

        #expect(harness.engine.checkCSRF(request, session: session, formBody: nil)?.code == check.expected)
    }

    /// gorilla/csrf CVE-2025-47909: trusted origins matched the host only, so a
    /// network attacker serving a form from `http://trusted-host` passed the
    /// check of an `https://` site. Origins are compared with their scheme.
    @Test func anHTTPOriginIsNotTrustedForAnHTTPSTrustedOrigin() async throws {
        let harness = try trustingHarness()
        let (session, token) = try await sessionWithToken(harness)
        let plainText = "http://admin.example.com"

        for secFetchSite: String? in ["cross-site", nil] {
            let request = CSRFRequest(
                method: "POST",
                path: "/account",
                host: "example.com",
                origin: plainText,
                secFetchSite: secFetchSite,
                headerToken: token
            )
            #expect(harness.engine.checkCSRF(request, session: session, formBody: nil)?.code == .crossOriginRequest)
        }
    }

    /// Opaque-origin forgery: a sandboxed iframe, a `data:` URL or a cross-origin
    /// redirect sends `Origin: null`, which must never count as a matching or
    /// trusted origin.
    @Test func theNullOriginIsRefused() async throws {
        let harness = try EngineHarness { $0.csrf.trustedOrigins = ["https://admin.example.com"] }
        let (session, token) = try await sessionWithToken(harness)
        let request = CSRFRequest(method: "POST", path: "/account", host: "example.com", origin: "null", headerToken: token)

        #expect(harness.engine.checkCSRF(request, session: session, formBody: nil)?.code == .crossOriginRequest)
    }

    // MARK: Modes and exclusions

    @Test func originOnlyModeNeedsNoToken() async throws {
        let harness = try EngineHarness { $0.csrf.mode = .originOnly }
        let session = try await harness.load(nil)
        let sameOrigin = CSRFRequest(method: "POST", path: "/api", host: "example.com", secFetchSite: "same-origin")
        let noHeaders = CSRFRequest(method: "POST", path: "/api", host: "example.com")
        let crossSite = CSRFRequest(method: "POST", path: "/api", host: "example.com", secFetchSite: "cross-site")
        let otherOrigin = CSRFRequest(method: "POST", path: "/api", host: "example.com", origin: "https://evil.example")

        #expect(harness.engine.checkCSRF(sameOrigin, session: session, formBody: nil) == nil)
        #expect(harness.engine.checkCSRF(noHeaders, session: session, formBody: nil) == nil)
        #expect(harness.engine.checkCSRF(crossSite, session: session, formBody: nil)?.code == .crossOriginRequest)
        #expect(harness.engine.checkCSRF(otherOrigin, session: session, formBody: nil)?.code == .crossOriginRequest)
        #expect(!session.isStarted, "origin-only mode must not create a CSRF secret")
    }

    @Test func disabledModePassesEveryRequest() async throws {
        let harness = try EngineHarness { $0.csrf.mode = .disabled }
        let session = try await harness.load(nil)
        let forged = CSRFRequest(
            method: "POST",
            path: "/account",
            host: "example.com",
            origin: "https://evil.example",
            secFetchSite: "cross-site"
        )

        #expect(harness.engine.checkCSRF(forged, session: session, formBody: nil) == nil)
        let result = try await harness.request(nil) { $0.put("user", "alice") }
        #expect(EngineHarness.setCookie("XSRF-TOKEN", in: result) == nil)
    }

    @Test(arguments: [
        ("/login/callback", true),
        ("/login/callback/", false),
        ("/login/callback/x", false),
        ("/login", false),
        ("/webhooks/github", true),
        ("/webhooks/", true),
        ("/webhooks/a/b", true),
        ("/webhooks", false),
        ("/webhooksx", false),
        ("/api/webhooks/github", false),
    ])
    func excludedPathsSkipTheCheck(path: String, isExcluded: Bool) async throws {
        let harness = try EngineHarness { $0.csrf.excludedPaths = ["/login/callback", "/webhooks/*"] }
        let session = try await harness.load(nil)

        let failure = harness.engine.checkCSRF(post(nil, path: path), session: session, formBody: nil)

        if isExcluded {
            #expect(failure == nil)
        } else {
            #expect(failure?.code == .missingToken)
        }
    }

    @Test func theIgnorePredicateSkipsTheCheck() async throws {
        let harness = try EngineHarness { $0.csrf.ignore = { $0.path.hasPrefix("/internal/") && $0.host == "localhost" } }
        let session = try await harness.load(nil)
        let ignored = CSRFRequest(method: "POST", path: "/internal/jobs", host: "localhost")
        let checked = CSRFRequest(method: "POST", path: "/internal/jobs", host: "example.com")

        #expect(harness.engine.checkCSRF(ignored, session: session, formBody: nil) == nil)
        #expect(harness.engine.checkCSRF(checked, session: session, formBody: nil)?.code == .missingToken)
    }

    // MARK: Form bodies

    private func percentEncodedEveryByte(_ text: String) -> String {
        text.utf8.map { String(format: "%%%02X", $0) }.joined()
    }

    @Test func theTokenIsFoundInAnURLEncodedForm() async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)
        let request = post(nil, contentType: "application/x-www-form-urlencoded")
        let body = Array("name=Zo%C3%AB+Smith&_token=\(token)&remember=on".utf8)

        #expect(harness.engine.csrfNeedsFormBody(request))
        #expect(harness.engine.checkCSRF(request, session: session, formBody: body) == nil)
    }

    @Test func aPercentEncodedTokenIsFoundInAnURLEncodedForm() async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)
        let request = post(nil, contentType: "application/x-www-form-urlencoded; charset=UTF-8")
        let body = Array("a=1&%5Ftoken=\(percentEncodedEveryByte(token))".utf8)

        #expect(harness.engine.checkCSRF(request, session: session, formBody: body) == nil)
    }

    @Test(arguments: [
        ("a=1&b=2", CSRFError.Code.missingToken),
        ("", .missingToken),
        ("_token=", .missingToken),
        ("__token=x&token=y", .missingToken),
        ("_token=not-the-token", .tokenMismatch),
        ("_token=%ZZ", .missingToken),
    ])
    func anURLEncodedFormWithoutTheTokenIsRefused(body: String, expected: CSRFError.Code) async throws {
        let harness = try EngineHarness()
        let (session, _) = try await sessionWithToken(harness)
        let request = post(nil, contentType: "application/x-www-form-urlencoded")

        #expect(harness.engine.checkCSRF(request, session: session, formBody: Array(body.utf8))?.code == expected)
    }

    @Test func aFormRequestWithoutItsBodyIsRefused() async throws {
        let harness = try EngineHarness()
        let (session, _) = try await sessionWithToken(harness)

        let request = post(nil, contentType: "application/x-www-form-urlencoded")
        #expect(harness.engine.checkCSRF(request, session: session, formBody: nil)?.code == .missingToken)
    }

    @Test func theHeaderTokenWinsOverTheForm() async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)
        let request = post(token, contentType: "application/x-www-form-urlencoded")

        #expect(!harness.engine.csrfNeedsFormBody(request))
        #expect(harness.engine.checkCSRF(request, session: session, formBody: Array("_token=wrong".utf8)) == nil)
    }

    private func multipart(_ parts: [(disposition: String, value: String)], boundary: String) -> [UInt8] {
        var text = "preamble\r\n"
        for part in parts {
            text += "--\(boundary)\r\nContent-Disposition: \(part.disposition)\r\nContent-Type: text/plain\r\n\r\n\(part.value)\r\n"
        }
        text += "--\(boundary)--\r\n"
        return Array(text.utf8)
    }

    @Test func theTokenIsFoundInAMultipartForm() async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)
        let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
        let request = post(nil, contentType: "multipart/form-data; boundary=\"\(boundary)\"")
        let body = multipart(
            [
                (disposition: "form-data; name=\"title\"", value: "hello"),
                (disposition: "form-data; name=\"_token\"", value: token),
            ],
            boundary: boundary
        )

        #expect(harness.engine.csrfNeedsFormBody(request))
        #expect(harness.engine.checkCSRF(request, session: session, formBody: body) == nil)
    }

    /// Defect (issue 16, item 8): the multipart token search compared the whole
    /// delimiter at every byte, O(n·m): a form body of dashes with a 70-byte
    /// boundary of dashes (the most a boundary may be) cost about 70 comparisons
    /// per byte, within ``CSRFConfiguration/maximumFormBodySize``. The search is
    /// linear: such a body takes about as long as a body of the same size that
    /// never resembles the delimiter.
    @Test func aMultipartBodyBuiltToResembleTheBoundaryIsScannedInLinearWork() async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)
        let boundary = String(repeating: "-", count: 69) + "x"
        let request = post(nil, contentType: "multipart/form-data; boundary=\(boundary)")
        let hostile = [UInt8](repeating: UInt8(ascii: "-"), count: 512 * 1024)
            + multipart([(disposition: "form-data; name=\"_token\"", value: token)], boundary: boundary)

        // The token is still found behind half a mebibyte of near-delimiters…
        #expect(harness.engine.checkCSRF(request, session: session, formBody: hostile) == nil)
        // …and the delimiter search compares each byte at most twice (the naive
        // scan made about 70 comparisons per byte of this body).
        var comparisons = 0
        let found = ByteSearch(Array("--\(boundary)".utf8)).firstIndex(in: hostile, from: 0, comparisons: &comparisons)
        #expect(found == 512 * 1024 + "preamble\r\n".utf8.count)
        #expect(comparisons <= 2 * hostile.count, "\(comparisons) comparisons for \(hostile.count) bytes")
    }

    @Test func aFileNamedLikeTheFieldIsNotTheField() async throws {
        let harness = try EngineHarness()
        let (session, token) = try await sessionWithToken(harness)
        let boundary = "xyz"
        let request = post(nil, contentType: "multipart/form-data; boundary=\(boundary)")
        let decoyFirst = multipart(
            [
                (disposition: "form-data; name=\"upload\"; filename=\"_token\"", value: "not the token"),
                (disposition: "form-data; filename=\"a.txt\"; name=\"_token\"", value: token),
            ],
            boundary: boundary
        )
        let decoyOnly = multipart(
            [(disposition: "form-data; name=\"upload\"; filename=\"_token\"", value: token)],
            boundary: boundary
        )

        #expect(harness.engine.checkCSRF(request, session: session, formBody: decoyFirst) == nil)
        #expect(harness.engine.checkCSRF(request, session: session, formBody: decoyOnly)?.code == .missingToken)
    }

    struct FormBodyCase: Sendable, CustomTestStringConvertible {
        var name: String
        var method = "POST"
        var path = "/account"
        var contentType: String?
        var headerToken: String?
        var mode = CSRFConfiguration.Mode.originAndToken
        var needsBody: Bool

        var testDescription: String { name }

        static let all: [FormBodyCase] = [
            .init(name: "POST url-encoded form", contentType: "application/x-www-form-urlencoded", needsBody: true),
            .init(name: "POST multipart form", contentType: "multipart/form-data; boundary=x", needsBody: true),
            .init(name: "POST form, type in capitals", contentType: "Application/X-WWW-Form-Urlencoded; charset=utf-8", needsBody: true),
            .init(name: "PUT url-encoded form", method: "PUT", contentType: "application/x-www-form-urlencoded", needsBody: true),
            .init(name: "POST form with a header token", contentType: "application/x-www-form-urlencoded", headerToken: "t", needsBody: false),
            .init(name: "GET form", method: "GET", contentType: "application/x-www-form-urlencoded", needsBody: false),
            .init(name: "POST JSON", contentType: "application/json", needsBody: false),
            .init(name: "POST plain text", contentType: "text/plain", needsBody: false),
            .init(name: "POST without a content type", needsBody: false),
            .init(name: "origin-only mode", contentType: "application/x-www-form-urlencoded", mode: .originOnly, needsBody: false),
            .init(name: "disabled mode", contentType: "application/x-www-form-urlencoded", mode: .disabled, needsBody: false),
            .init(name: "excluded path", path: "/webhooks/stripe", contentType: "application/x-www-form-urlencoded", needsBody: false),
        ]
    }

    @Test(arguments: FormBodyCase.all)
    func csrfNeedsFormBodyOnlyForUnsafeFormsWithoutAHeaderToken(_ form: FormBodyCase) throws {
        let harness = try EngineHarness { configuration in
            configuration.csrf.mode = form.mode
            configuration.csrf.excludedPaths = ["/webhooks/*"]
        }
        let request = CSRFRequest(method: form.method, path: form.path, headerToken: form.headerToken, contentType: form.contentType)

        #expect(harness.engine.csrfNeedsFormBody(request) == form.needsBody)
    }

    // MARK: The XSRF-TOKEN cookie

    @Test func aNewSessionSetsAReadableXSRFCookie() async throws {
        let harness = try EngineHarness()

        let result = try await harness.request(nil) { $0.put("user", "alice") }

        let line = try #require(EngineHarness.setCookie("XSRF-TOKEN", in: result))
        #expect(!line.contains("HttpOnly"))
        #expect(line.contains("; Path=/;") && line.contains("; Secure") && line.contains("; SameSite=Lax"))
        #expect(EngineHarness.setCookie(harness.cookieName, in: result)?.contains("; HttpOnly") == true)
        // A front end copies the cookie into X-XSRF-TOKEN on its next unsafe request.
        let xsrf = try cookieValue("XSRF-TOKEN", in: result)
        let newToken = try #require(result.token)
        let next = try await harness.load(newToken)
        let request = CSRFRequest(method: "POST", path: "/account", host: "example.com", secFetchSite: "same-origin", headerToken: xsrf)
        #expect(harness.engine.checkCSRF(request, session: next, formBody: nil) == nil)
    }

    @Test func regenerateRotatesTheCSRFSecret() async throws {
        let harness = try EngineHarness()
        var oldToken = ""
        let created = try await harness.request(nil) { oldToken = $0.csrfToken() }
        let token = try #require(created.token)

        let result = try await harness.request(token) { $0.regenerate() }

        let newToken = try #require(result.token)
        let session = try await harness.load(newToken)
        #expect(!session.validateCSRFToken(oldToken))
        #expect(harness.engine.checkCSRF(post(oldToken), session: session, formBody: nil)?.code == .tokenMismatch)
        #expect(session.validateCSRFToken(try cookieValue("XSRF-TOKEN", in: result)))
    }

    @Test func aTokenMintedAfterRegenerateWorksInTheNewSession() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession()
        var minted = ""

        let result = try await harness.request(token) { session in
            session.regenerate()
            minted = session.csrfToken()
        }

        let newToken = try #require(result.token)
        #expect(try await harness.load(newToken).validateCSRFToken(minted))
    }

    @Test func invalidateRotatesTheCSRFSecret() async throws {
        let harness = try EngineHarness()
        var oldToken = ""
        let created = try await harness.request(nil) { session in
            session.put("user", "alice")
            oldToken = session.csrfToken()
        }
        let token = try #require(created.token)

        let result = try await harness.request(token) { $0.invalidate() }

        let newToken = try #require(result.token)
        let fresh = try await harness.load(newToken)
        #expect(!fresh.validateCSRFToken(oldToken))
        #expect(fresh.validateCSRFToken(try cookieValue("XSRF-TOKEN", in: result)))
    }
}
