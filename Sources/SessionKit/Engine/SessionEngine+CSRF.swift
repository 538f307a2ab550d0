import Logging

extension SessionEngine {
    /// Whether a request with this method may need a CSRF check at all: `false`
    /// for safe methods and with CSRF protection disabled. Adapters call it first
    /// and skip building a ``CSRFRequest`` when it says no, which is most requests.
    ///
    /// - Parameter method: The request method.
    package func csrfMayCheck(method: String) -> Bool {
        configuration.csrf.mode != .disabled && !CSRFRequest.isSafe(method: method)
    }

    /// Whether the adapter must read the request body to find the CSRF form field:
    /// an unsafe, checked request with a form content type and no token header.
    ///
    /// Read at most ``CSRFConfiguration/maximumFormBodySize`` bytes, then pass
    /// them to ``checkCSRF(_:session:formBody:)`` and hand the body on to the handler.
    ///
    /// - Parameter request: The request's CSRF-relevant parts.
    package func csrfNeedsFormBody(_ request: CSRFRequest) -> Bool {
        csrf.needsFormBody(request)
    }

    /// Runs the CSRF check: nothing for safe methods and excluded requests;
    /// otherwise the origin check, then (unless ``CSRFConfiguration/Mode/originOnly``) the token.
    ///
    /// - Parameters:
    ///   - request: The request's CSRF-relevant parts.
    ///   - session: The request's loaded session, which holds the secret.
    ///   - formBody: The body bytes of an urlencoded or multipart form sent without a token header (at most ``CSRFConfiguration/maximumFormBodySize`` bytes), or `nil`.
    /// - Returns: `nil` when the request may proceed; otherwise why it is refused.
    ///   A refused request must not reach the handler, and its session must not be committed.
    ///   A refusal is logged at notice with `sessionkit.reason` and counted in
    ///   `sessionkit_csrf_refusals_total{reason}`; the submitted token is never logged.
    public func checkCSRF(_ request: CSRFRequest, session: RequestSession, formBody: [UInt8]?) -> CSRFError? {
        guard let failure = csrf.check(request, session: session, formBody: formBody) else { return nil }
        return refused(request, failure)
    }

    /// Checks one request for CSRF by hand and throws when it must be refused:
    /// for routes the automatic check skips (``CSRFConfiguration/Mode/disabled``,
    /// ``CSRFConfiguration/excludedPaths``, ``CSRFConfiguration/ignore``), as
    /// curveball's `validateCsrf()`.
    ///
    /// It runs the origin check and then the token check whatever the
    /// configured mode, the method or the exclusions: a handler that calls it
    /// asked for the check. The token comes from ``CSRFRequest/headerToken``,
    /// or else from the ``CSRFConfiguration/formFieldName`` field of `formBody`
    /// when the request has a form content type. A refusal is logged and
    /// counted as ``checkCSRF(_:session:formBody:)``'s are.
    ///
    /// Let the error propagate out of the handler: the app's error handling
    /// renders it (``CSRFError/response(acceptHeaders:)`` gives the engine's
    /// `403`), and the handler's session changes should not be committed.
    ///
    /// - Parameters:
    ///   - request: The request's CSRF-relevant parts (``csrfRequest(method:path:host:header:)`` builds them).
    ///   - session: The request's session, which holds the secret.
    ///   - formBody: The request body, for a token sent in a form field.
    /// - Throws: ``CSRFError`` with ``CSRFError/Code/crossOriginRequest``,
    ///   ``CSRFError/Code/missingToken`` or ``CSRFError/Code/tokenMismatch``.
    public func validateCSRF(_ request: CSRFRequest, session: RequestSession, formBody: [UInt8]? = nil) throws(CSRFError) {
        guard let failure = csrf.verify(request, session: session, formBody: formBody) else { return }
        throw refused(request, failure)
    }

    /// Whether ``validateCSRF(_:session:formBody:)`` needs the request body to
    /// find the token: no token header and a form content type, whatever the
    /// mode and exclusions (unlike ``csrfNeedsFormBody(_:)``, which follows the
    /// automatic check). For adapter conveniences such as a `request.validateCSRF()`.
    ///
    /// - Parameter request: The request's CSRF-relevant parts.
    package func csrfValidationNeedsFormBody(_ request: CSRFRequest) -> Bool {
        guard request.headerToken == nil, let contentType = request.contentType else { return false }
        return FormToken.isForm(contentType)
    }

    /// The form-too-large refusal, for adapters whose body read hit ``CSRFConfiguration/maximumFormBodySize``.
    package func csrfFormTooLarge(_ request: CSRFRequest) -> CSRFError {
        refused(request, CSRFError(code: .formTooLarge))
    }

    /// Logs and counts a refusal; never logs the submitted token.
    private func refused(_ request: CSRFRequest, _ failure: CSRFError) -> CSRFError {
        metrics.recordCSRFRefusal(failure.code)
        logger.notice(
            "request refused by CSRF protection",
            metadata: [
                "sessionkit.reason": "\(failure.code)",
                "sessionkit.csrf.method": "\(request.method)",
                "sessionkit.csrf.path": "\(request.path)",
            ]
        )
        return failure
    }
}
