import Benchmark
import SessionKit

func csrfBenchmarks() {
    // Masking: a fresh 32-byte pad, XOR with the session's secret, base64url.
    Benchmark("CSRF:Mask") { (benchmark: Benchmark, session: RequestSession) in
        for _ in benchmark.scaledIterations {
            blackHole(session.csrfToken())
        }
    } setup: {
        try await loadedSessionWithCSRFSecret()
    }

    // Verification: base64url-decode, unmask, constant-time compare.
    Benchmark("CSRF:UnmaskVerify") { (benchmark: Benchmark, session: RequestSession) in
        let token = session.csrfToken()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(session.validateCSRFToken(token))
        }
    } setup: {
        try await loadedSessionWithCSRFSecret()
    }

    // The whole check an unsafe request passes: origin layer, then token layer.
    Benchmark("CSRF:CheckRequest") { (benchmark: Benchmark, state: (SessionEngine, RequestSession)) in
        let (engine, session) = state
        let token = session.csrfToken()
        let request = engine.csrfRequest(method: "POST", path: "/counter", host: "127.0.0.1:8080") { name in
            switch name.lowercased() {
            case "origin": return "http://127.0.0.1:8080"
            case "x-csrf-token": return token
            default: return nil
            }
        }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(engine.checkCSRF(request, session: session, formBody: nil))
        }
    } setup: {
        let fixture = try EngineFixture()
        let token = try await fixture.login()
        return (fixture.engine, try await fixture.engine.load(cookieHeader: fixture.cookieHeader(token)))
    }
}

/// A session loaded by an engine, holding the CSRF secret its creation gave it.
private func loadedSessionWithCSRFSecret() async throws -> RequestSession {
    let fixture = try EngineFixture()
    let token = try await fixture.login()
    return try await fixture.engine.load(cookieHeader: fixture.cookieHeader(token))
}
