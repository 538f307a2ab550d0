import Benchmark
import CBenchmarkSupport

/// Every benchmark of SessionKit's request path; `swift package benchmark` runs them.
///
/// Areas, one file each: cookies, tokens, CSRF, engine commit paths, codec,
/// cookie store, and the memory store at scale. Only SessionKit's public API is
/// used, as an app would use it (`@testable` imports do not work in release),
/// except the RESP decoder, reached through `@_spi(Benchmarks)`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: BenchmarkMetrics.standard,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000,
        thresholds: [
            .wallClock: .relaxed,
            .mallocCountTotal: .strict,
        ]
    )

    cookieBenchmarks()
    tokenBenchmarks()
    csrfBenchmarks()
    multipartBenchmarks()
    engineBenchmarks()
    codecBenchmarks()
    cookieStoreBenchmarks()
    respBenchmarks()
    scaleBenchmarks()
}

enum BenchmarkMetrics {
    /// Wall clock, throughput and allocations; instructions too where the machine
    /// exposes the hardware counter (many virtual machines do not).
    static let standard: [BenchmarkMetric] = {
        var metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]
        if sessionkit_instructions_counter_available() == 1 {
            metrics.append(.instructions)
        }
        return metrics
    }()
}
