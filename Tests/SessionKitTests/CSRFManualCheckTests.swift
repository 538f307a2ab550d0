import Foundation
import SessionKit
import SessionKitConformance
import Testing

/// The throwing per-route check (curveball's `validateCsrf()`) for apps that
/// turn the automatic check off or exclude a route from it.
@Suite struct CSRFManualCheckTests {
    private func post(token: String?, origin: String? = nil, contentType: String? = nil) -> CSRFRequest {
        CSRFRequest(method: "POST", path: "/hook", host: "example.com", origin: origin, headerToken: token, contentType: contentType)
    }

    private func disabledHarness() throws -> EngineHarness {
        try EngineHarness { $0.csrf.mode = .disabled }
    }

    @Test func aValidTokenPassesWithTheAutomaticCheckDisabled() async throws {
        let harness = try disabledHarness()
        let session = try await harness.load(nil)
        let token = session.csrfToken()

        #expect(harness.engine.checkCSRF(post(token: nil), session: session, formBody: nil) == nil, "the automatic check is off")
        try harness.engine.validateCSRF(post(token: token), session: session)
    }

    @Test func aMissingTokenThrowsMissingToken() async throws {
        let harness = try disabledHarness()
        let session = try await harness.load(nil)
        _ = session.csrfToken()

        #expect(throws: CSRFError(code: .missingToken)) {
            try harness.engine.validateCSRF(post(token: nil), session: session)
        }
    }

    @Test func aWrongTokenThrowsTokenMismatchAnsweredWith403() async throws {
        let harness = try disabledHarness()
        let session = try await harness.load(nil)
        let other = try await harness.load(nil)

        do {
            try harness.engine.validateCSRF(post(token: other.csrfToken()), session: session)
            Issue.record("a token of another session passed")
        } catch {
            #expect(error.code == .tokenMismatch)
            #expect(error.status == 403)
            #expect(error.response(acceptHeaders: []).status == 403)
        }
    }

    /// A cross-site form post with a stolen-looking token is still refused by the origin layer.
    @Test func aCrossOriginRequestThrowsEvenWithAValidToken() async throws {
        let harness = try disabledHarness()
        let session = try await harness.load(nil)
        let token = session.csrfToken()

        #expect(throws: CSRFError(code: .crossOriginRequest)) {
            try harness.engine.validateCSRF(post(token: token, origin: "https://evil.example"), session: session)
        }
    }

    @Test func theTokenIsFoundInAFormBody() async throws {
        let harness = try disabledHarness()
        let session = try await harness.load(nil)
        let token = session.csrfToken()
        let body = Array("name=x&_token=\(token)".utf8)

        try harness.engine.validateCSRF(
            post(token: nil, contentType: "application/x-www-form-urlencoded"),
            session: session,
            formBody: body
        )
    }

    @Test func theByHandCheckAsksForAFormBodyEvenWithTheAutomaticCheckOff() throws {
        let harness = try disabledHarness()
        let form = post(token: nil, contentType: "application/x-www-form-urlencoded")

        #expect(!harness.engine.csrfNeedsFormBody(form))
        #expect(harness.engine.csrfValidationNeedsFormBody(form))
        #expect(!harness.engine.csrfValidationNeedsFormBody(post(token: "t", contentType: "application/x-www-form-urlencoded")))
        #expect(!harness.engine.csrfValidationNeedsFormBody(post(token: nil, contentType: "application/json")))
    }

    @Test func anExcludedPathCanStillBeCheckedByHand() async throws {
        let harness = try EngineHarness { $0.csrf.excludedPaths = ["/hook"] }
        let session = try await harness.load(nil)
        _ = session.csrfToken()

        #expect(harness.engine.checkCSRF(post(token: nil), session: session, formBody: nil) == nil)
        #expect(throws: CSRFError(code: .missingToken)) {
            try harness.engine.validateCSRF(post(token: nil), session: session)
        }
    }

    @Test func theSessionLevelCheckThrowsForAMissingOrWrongToken() async throws {
        let session = RequestSession()
        let token = session.csrfToken()

        try session.validateCSRF(token: token)
        #expect(throws: CSRFError(code: .missingToken)) { try session.validateCSRF(token: nil) }
        #expect(throws: CSRFError(code: .missingToken)) { try session.validateCSRF(token: "") }
        #expect(throws: CSRFError(code: .tokenMismatch)) { try session.validateCSRF(token: RequestSession().csrfToken()) }
    }
}
