import BenchServerSupport
import Foundation
import Logging
import Metrics
import SessionKit
import SessionKitVapor
import Synchronization
import Vapor

// One Vapor server per variant of the HTTP benchmark (Benchmarks/http/run).
//
// Environment: VARIANT (vapor-bare, vapor-sessionkit-counter, vapor-sessions-counter)
// and PORT. The routes are those of bench-hummingbird: POST /login, GET /read,
// POST /counter, GET /count, GET /stats, GET /health. Vapor's default middleware
// (route logging and errors) stays on in every variant.

let environment = ProcessInfo.processInfo.environment
let variant = environment["VARIANT"] ?? "vapor-bare"
guard let port = environment["PORT"].flatMap(Int.init) else {
    fatalError("PORT is not set")
}

// Per-request logging would dominate the figures; every variant logs warnings only.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}

/// SessionKit's counters, for diagnosing a variant (GET /metrics); off in measured runs.
let countingMetrics: CountingMetrics? = environment["BENCH_METRICS"] == "1" ? CountingMetrics() : nil
if let countingMetrics { MetricsSystem.bootstrap(countingMetrics) }

/// POST /counter requests answered with a 2xx status, for the harness's lost-increment check.
let successfulIncrements = Atomic<Int>(0)

/// Counts successful increments after everything inside it, the session commit included, has run.
///
/// An `EventLoopFuture` middleware, not an `AsyncMiddleware`: Vapor runs an async
/// middleware in a task off the event loop, and the hop there and back would be
/// charged to the variant under test.
struct IncrementCountingMiddleware: Middleware {
    func respond(to request: Request, chainingTo next: any Responder) -> EventLoopFuture<Response> {
        let isIncrement = request.method == .POST && request.url.path == "/counter"
        return next.respond(to: request).map { response in
            if isIncrement, (200..<300).contains(response.status.code) {
                successfulIncrements.add(1, ordering: .relaxed)
            }
            return response
        }
    }
}

let app = try await Application.make(Environment(name: "production", arguments: ["bench-vapor"]))
app.logger.logLevel = .warning
app.http.server.configuration.hostname = "127.0.0.1"
app.http.server.configuration.port = port

app.get("health") { _ in "ok" }
app.get("stats") { _ in String(successfulIncrements.load(ordering: .relaxed)) }
app.get("metrics") { _ in countingMetrics?.report ?? "BENCH_METRICS is not 1\n" }

switch variant {
case "vapor-bare":
    app.get("read") { _ in "alice" }
    app.post("counter") { _ in "1" }

case "vapor-sessionkit-counter":
    var configuration = SessionEngine.Configuration()
    // The anchors have no CSRF protection; bench-hummingbird's -csrf variant shows what it costs.
    configuration.csrf.mode = .disabled
    app.sessionKit.engine = try SessionEngine(store: MemoryStore(), configuration: configuration, logger: app.logger)
    app.middleware.use(IncrementCountingMiddleware())
    app.middleware.use(app.sessionKit.middleware)
    app.post("login") { req in
        req.sessionKit.put("user", "alice")
        req.sessionKit.put("count", 0)
        return "ok"
    }
    app.get("read") { req in req.sessionKit.get("user")?.stringValue ?? "anonymous" }
    app.post("counter") { req in
        // `increment` is SessionKit's read-add-write, replayed on a compare-and-swap conflict.
        String(req.sessionKit.increment("count"))
    }
    app.get("count") { req in String(req.sessionKit.get("count")?.intValue ?? -1) }

case "vapor-sessions-counter":
    app.sessions.use(.memory)
    app.middleware.use(IncrementCountingMiddleware())
    app.middleware.use(app.sessions.middleware)
    app.post("login") { req in
        req.session.data["user"] = "alice"
        req.session.data["count"] = "0"
        return "ok"
    }
    app.get("read") { req in req.session.data["user"] ?? "anonymous" }
    app.post("counter") { req in
        let count = (req.session.data["count"].flatMap(Int.init) ?? 0) + 1
        req.session.data["count"] = String(count)
        return String(count)
    }
    app.get("count") { req in req.session.data["count"] ?? "-1" }

default:
    fatalError("unknown VARIANT \(variant)")
}

do {
    try await app.execute()
} catch {
    app.logger.error("server failed: \(error)")
}
try await app.asyncShutdown()
