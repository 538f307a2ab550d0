public import Metrics
public import Prometheus

/// The demo's Prometheus metrics (`METRICS=prometheus`): a registry of its own
/// and the swift-metrics factory that fills it.
///
/// The engine and the stores take their counters and timers from
/// `MetricsSystem.factory` when they are created, so ``bootstrap(_:)`` must run
/// before the engine is made. It does not serve anything itself: each demo
/// answers `GET /metrics` with ``response``, outside the session middleware.
/// Tests that must not touch the process-wide `MetricsSystem` make a
/// `DemoMetrics()` and hand its ``factory`` to the engine instead.
public struct DemoMetrics: Sendable {
    /// Where every metric is kept until `GET /metrics` reads it.
    public let registry: PrometheusCollectorRegistry
    /// The swift-metrics backend writing into ``registry``.
    public let factory: PrometheusMetricsFactory

    /// Creates an empty registry and its factory, without bootstrapping `MetricsSystem`.
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.factory = PrometheusMetricsFactory(registry: registry)
    }

    /// Bootstraps `MetricsSystem` with a Prometheus factory when `export` asks for it.
    ///
    /// `MetricsSystem` can be bootstrapped once per process, so call this once,
    /// at start-up, before creating the engine.
    ///
    /// - Parameter export: The configured `METRICS`.
    /// - Returns: The metrics to serve, or `nil` when `export` is ``DemoConfiguration/MetricsExport/off``.
    public static func bootstrap(_ export: DemoConfiguration.MetricsExport) -> DemoMetrics? {
        switch export {
        case .off:
            return nil
        case .prometheus:
            let metrics = DemoMetrics()
            MetricsSystem.bootstrap(metrics.factory)
            return metrics
        }
    }

    /// `GET /metrics`: every metric in the Prometheus text format, version 0.0.4.
    public var response: DemoResponse {
        DemoResponse(
            status: 200,
            headers: [
                (name: "Content-Type", value: "text/plain; version=0.0.4; charset=utf-8"),
                (name: "Cache-Control", value: "no-store"),
            ],
            body: registry.emitToString()
        )
    }
}
