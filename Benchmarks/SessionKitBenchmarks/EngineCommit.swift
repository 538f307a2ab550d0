import Benchmark
import SessionKit
import SessionKitConformance

/// Load + commit through ``SessionEngine`` on a ``MemoryStore``, one benchmark per
/// path of the commit. Each iteration is one request: the Cookie header goes in,
/// the handler's change (if any) is applied, the commit runs.
func engineBenchmarks() {
    // A request that only reads, inside the touch interval: the load and no store call
    // at commit. The record's bytes are the ones the engine decoded last time, so the
    // decoded-record cache answers; `:Uncached` decodes them on every load.
    for (name, capacity) in [("Engine:LoadCommit:NoOp", 1024), ("Engine:LoadCommit:NoOp:Uncached", 0)] {
        Benchmark(name) { (benchmark: Benchmark, state: (EngineFixture, String)) in
            let (fixture, header) = state
            for _ in benchmark.scaledIterations {
                let session = try await fixture.engine.load(cookieHeader: header)
                blackHole(session.get("user"))
                blackHole(try await fixture.engine.commit(session))
            }
        } setup: {
            let fixture = try EngineFixture(decodedRecordCacheCapacity: capacity)
            let header = fixture.cookieHeader(try await fixture.login())
            try await expect(.none, fixture: fixture, header: header) { _ in }
            return (fixture, header)
        }
    }

    // An unchanged request after the touch interval: `touch` plus a refreshed cookie.
    Benchmark("Engine:LoadCommit:Touch") { (benchmark: Benchmark, state: (EngineFixture, String)) in
        let (fixture, header) = state
        for _ in benchmark.scaledIterations {
            fixture.clock.advance(by: .seconds(61))
            let session = try await fixture.engine.load(cookieHeader: header)
            blackHole(session.get("user"))
            blackHole(try await fixture.engine.commit(session))
        }
    } setup: {
        // An absolute timeout far away, so that advancing the clock never ends the session.
        let fixture = try EngineFixture(expiry: .init(absoluteTimeout: .seconds(100 * 365 * 86_400)))
        let header = fixture.cookieHeader(try await fixture.login())
        fixture.clock.advance(by: .seconds(61))
        try await expect(.touched, fixture: fixture, header: header) { _ in }
        return (fixture, header)
    }

    // A counter: `increment`, then a compare-and-swap save (no cookie: the expiry moved < touch interval).
    Benchmark("Engine:LoadCommit:Save") { (benchmark: Benchmark, state: (EngineFixture, String)) in
        let (fixture, header) = state
        for _ in benchmark.scaledIterations {
            let session = try await fixture.engine.load(cookieHeader: header)
            blackHole(session.increment("count"))
            blackHole(try await fixture.engine.commit(session))
        }
    } setup: {
        let fixture = try EngineFixture()
        let header = fixture.cookieHeader(try await fixture.login())
        try await expect(.saved, fixture: fixture, header: header) { _ = $0.increment("count") }
        return (fixture, header)
    }

    // A login on an existing session: retire the old record by CAS, create under a
    // new token, delete the old key, send both cookies. The next request uses the new token.
    Benchmark("Engine:LoadCommit:Regenerate") { (benchmark: Benchmark, fixture: EngineFixture) in
        var header = fixture.cookieHeader(try await fixture.login())
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let session = try await fixture.engine.load(cookieHeader: header)
            session.regenerate()
            let result = try await fixture.engine.commit(session)
            guard let token = result.token else { throw FixtureError.noToken(result.action.description) }
            header = fixture.cookieHeader(token)
        }
    } setup: {
        try EngineFixture()
    }

    // Emptying a session (`flush`): retire by CAS, delete, expire both cookies.
    Benchmark("Engine:LoadCommit:Delete") { (benchmark: Benchmark, fixture: EngineFixture) in
        let headers = try await freshSessions(benchmark.scaledIterations.count, fixture: fixture)
        benchmark.startMeasurement()
        for header in headers {
            let session = try await fixture.engine.load(cookieHeader: header)
            session.flush()
            blackHole(try await fixture.engine.commit(session))
        }
        benchmark.stopMeasurement()
    } setup: {
        let fixture = try EngineFixture()
        let header = fixture.cookieHeader(try await fixture.login())
        try await expect(.deleted, fixture: fixture, header: header) { $0.flush() }
        return fixture
    }

    // Logout: delete the record, expire the cookies, create nothing.
    Benchmark("Engine:LoadCommit:Invalidate") { (benchmark: Benchmark, fixture: EngineFixture) in
        let headers = try await freshSessions(benchmark.scaledIterations.count, fixture: fixture)
        benchmark.startMeasurement()
        for header in headers {
            let session = try await fixture.engine.load(cookieHeader: header)
            session.invalidate()
            blackHole(try await fixture.engine.commit(session))
        }
        benchmark.stopMeasurement()
    } setup: {
        let fixture = try EngineFixture()
        let header = fixture.cookieHeader(try await fixture.login())
        try await expect(.invalidated, fixture: fixture, header: header) { $0.invalidate() }
        return fixture
    }

    // A first visit that writes: new token, CSRF secret, create-if-absent, two cookies.
    Benchmark("Engine:LoadCommit:Create") { (benchmark: Benchmark, fixture: EngineFixture) in
        for _ in benchmark.scaledIterations {
            let session = try await fixture.engine.load(cookieHeader: nil)
            session.put("user", "alice")
            blackHole(try await fixture.engine.commit(session))
        }
    } setup: {
        try EngineFixture()
    }
}

/// Makes `count` logged-in sessions and returns their Cookie headers.
private func freshSessions(_ count: Int, fixture: EngineFixture) async throws -> [String] {
    var headers: [String] = []
    headers.reserveCapacity(count)
    for _ in 0..<count {
        headers.append(fixture.cookieHeader(try await fixture.login()))
    }
    return headers
}

/// Checks, once before measuring, that a request takes the commit path the benchmark is named for.
private func expect(
    _ action: SessionCommitResult.Action,
    fixture: EngineFixture,
    header: String,
    _ change: (RequestSession) -> Void
) async throws {
    let session = try await fixture.engine.load(cookieHeader: header)
    change(session)
    let result = try await fixture.engine.commit(session)
    guard result.action == action else {
        throw FixtureError.unexpectedAction("expected \(action), got \(result.action)")
    }
}
