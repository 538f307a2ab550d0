import Benchmark
import SessionKit

func tokenBenchmarks() {
    // A new session: 32 random bytes, then the SHA-256 key the store sees.
    Benchmark("Token:GenerateAndHash") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(SessionToken.generate().key)
        }
    }

    // Every request with a cookie: parse the 43 base64url characters, then hash.
    Benchmark("Token:ParseAndHash") { benchmark in
        let text = SessionToken.generate().cookieValue
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(SessionToken(text)?.key)
        }
    }
}
