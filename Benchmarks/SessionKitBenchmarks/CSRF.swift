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

/// The CSRF token search in a 512 KiB `multipart/form-data` body whose token part
/// comes last: a body of dashes with the longest boundary (70 bytes, dashes and
/// an `x`), which makes a naive search compare the whole delimiter at every byte
/// (O(n·m)), and a body of the same size that never resembles the delimiter.
/// With the linear search (Knuth–Morris–Pratt) the two cost about the same.
func multipartBenchmarks() {
    for (label, filler) in [("Hostile512KiB", UInt8(ascii: "-")), ("Plain512KiB", UInt8(ascii: "a"))] {
        Benchmark("CSRF:MultipartScan:\(label)", configuration: .init(scalingFactor: .one, maxDuration: .seconds(2))) {
            (benchmark: Benchmark, state: (SessionEngine, RequestSession, CSRFRequest, [UInt8])) in
            let (engine, session, request, body) = state
            for _ in benchmark.scaledIterations {
                blackHole(engine.checkCSRF(request, session: session, formBody: body))
            }
        } setup: {
            let fixture = try EngineFixture()
            let token = try await fixture.login()
            let session = try await fixture.engine.load(cookieHeader: fixture.cookieHeader(token))
            let boundary = String(repeating: "-", count: 69) + "x"
            let request = fixture.engine.csrfRequest(method: "POST", path: "/upload", host: "127.0.0.1:8080") { name in
                switch name.lowercased() {
                case "origin": return "http://127.0.0.1:8080"
                case "content-type": return "multipart/form-data; boundary=\(boundary)"
                default: return nil
                }
            }
            let part = "\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"_token\"\r\n\r\n\(session.csrfToken())\r\n--\(boundary)--\r\n"
            let body = [UInt8](repeating: filler, count: 512 * 1024) + Array(part.utf8)
            return (fixture.engine, session, request, body)
        }
    }
}

/// A session loaded by an engine, holding the CSRF secret its creation gave it.
private func loadedSessionWithCSRFSecret() async throws -> RequestSession {
    let fixture = try EngineFixture()
    let token = try await fixture.login()
    return try await fixture.engine.load(cookieHeader: fixture.cookieHeader(token))
}
