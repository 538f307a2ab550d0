/// A route that never touches the session: each demo registers it outside its
/// SessionKit middleware, so it answers while the session store is down and
/// costs no cookie parsing, no store read and no CSRF check.
public struct DemoProbe: Sendable {
    /// The path; the method is always `GET`.
    public var path: String
    /// Answers the request.
    public var respond: @Sendable () -> DemoResponse

    /// Creates a probe.
    ///
    /// - Parameters:
    ///   - path: The path, answered to `GET`.
    ///   - respond: The answer.
    public init(_ path: String, respond: @escaping @Sendable () -> DemoResponse) {
        self.path = path
        self.respond = respond
    }
}

extension DemoRoutes {
    /// The routes outside the session middleware: `GET /healthz` (`200 ok`,
    /// always) and, when `metrics` is given (`METRICS=prometheus`), `GET /metrics`.
    ///
    /// - Parameter metrics: The metrics to serve, or `nil` for none.
    /// - Returns: The probes, for each demo to register before its session middleware.
    public static func probes(metrics: DemoMetrics?) -> [DemoProbe] {
        var probes = [
            DemoProbe("/healthz") {
                DemoResponse(
                    status: 200,
                    headers: [(name: "Content-Type", value: "text/plain; charset=utf-8"), (name: "Cache-Control", value: "no-store")],
                    body: "ok"
                )
            }
        ]
        if let metrics {
            probes.append(DemoProbe("/metrics") { metrics.response })
        }
        return probes
    }
}
