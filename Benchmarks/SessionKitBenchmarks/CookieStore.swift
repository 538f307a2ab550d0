import Benchmark
import SessionKit
import SessionKitConformance

/// The cookie store (``SessionEngine/init(cookieStore:configuration:clock:logger:)``):
/// the session travels sealed with ChaCha20-Poly1305 in its cookie.
func cookieStoreBenchmarks() {
    // Open the sealed cookie, decode, commit nothing.
    Benchmark("CookieStore:Open") { (benchmark: Benchmark, state: (SessionEngine, String)) in
        let (engine, header) = state
        for _ in benchmark.scaledIterations {
            let session = try await engine.load(cookieHeader: header)
            blackHole(session.get("user"))
            blackHole(try await engine.commit(session))
        }
    } setup: {
        try await sealedSession()
    }

    // Open, increment, seal again into a new Set-Cookie; the next request sends it.
    Benchmark("CookieStore:OpenSeal") { (benchmark: Benchmark, state: (SessionEngine, String)) in
        var (engine, header) = state
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let session = try await engine.load(cookieHeader: header)
            session.increment("count")
            let result = try await engine.commit(session)
            header = try sessionCookie(in: result, engine: engine)
        }
    } setup: {
        try await sealedSession()
    }
}

private func sealedSession() async throws -> (SessionEngine, String) {
    let engine = try SessionEngine(cookieStore: try CookieStore(keys: [.generate(id: "k1")]), clock: ManualClock())
    let session = try await engine.load(cookieHeader: nil)
    session.put("user", "alice")
    session.put("count", 0)
    let result = try await engine.commit(session)
    return (engine, try sessionCookie(in: result, engine: engine))
}

/// The session cookie of a commit, as the Cookie header the browser sends back.
private func sessionCookie(in result: SessionCommitResult, engine: SessionEngine) throws -> String {
    let prefix = engine.configuration.cookie.effectiveName + "="
    guard let line = result.setCookies.first(where: { $0.hasPrefix(prefix) }),
        let pair = line.split(separator: ";", maxSplits: 1).first
    else { throw FixtureError.noToken(result.action.description) }
    return String(pair)
}
