import CoreMetrics
import Synchronization

/// A metrics backend for diagnosing a benchmark server: it sums counters by
/// label and dimensions and ignores every other kind of metric.
///
/// The servers bootstrap it only when `BENCH_METRICS=1`, because it costs a
/// lock per increment; the measured runs use swift-metrics' no-op default,
/// as an app without a metrics backend does.
public final class CountingMetrics: MetricsFactory, Sendable {
    private let counters = Mutex<[String: Int64]>([:])

    /// Creates a backend with no counts.
    public init() {}

    /// Every counter's total, one `label{dimensions} value` line each, sorted.
    public var report: String {
        counters.withLock { counters in
            counters.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "\n") + "\n"
        }
    }

    fileprivate func add(_ amount: Int64, to name: String) {
        counters.withLock { $0[name, default: 0] += amount }
    }

    /// A counter summed under `label{dimensions}`.
    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        let name = dimensions.isEmpty ? label : label + "{" + dimensions.map { "\($0.0)=\($0.1)" }.joined(separator: ",") + "}"
        return Handler(name: name, metrics: self)
    }

    /// Ignored: SessionKit has none.
    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        NOOPMetricsHandler.instance
    }

    /// Ignored: gauges are not needed to diagnose a run.
    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        NOOPMetricsHandler.instance
    }

    /// Ignored: meters are not needed to diagnose a run.
    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        NOOPMetricsHandler.instance
    }

    /// Ignored: the store-operation timers would cost a lock per store call.
    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        NOOPMetricsHandler.instance
    }

    /// Keeps the counter's total.
    public func destroyCounter(_ handler: any CounterHandler) {}
    /// Nothing to release.
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    /// Nothing to release.
    public func destroyRecorder(_ handler: any RecorderHandler) {}
    /// Nothing to release.
    public func destroyMeter(_ handler: any MeterHandler) {}
    /// Nothing to release.
    public func destroyTimer(_ handler: any TimerHandler) {}

    private final class Handler: CounterHandler, Sendable {
        let name: String
        let metrics: CountingMetrics

        init(name: String, metrics: CountingMetrics) {
            self.name = name
            self.metrics = metrics
        }

        func increment(by amount: Int64) {
            metrics.add(amount, to: name)
        }

        func reset() {}
    }
}
