import Foundation
import Hummingbird
import Logging
import SessionDemoApp
import SessionDemoSupport

// `swift run --package-path Examples session-demo`: the demo on 127.0.0.1:8080 with the SQLite store,
// configured by environment variables (see the README).
do {
    let configuration = try DemoConfiguration(environment: ProcessInfo.processInfo.environment)
    var logger = Logger(label: "session-demo")
    logger.logLevel = configuration.logLevel
    // Before the engine exists: it takes its counters from `MetricsSystem.factory` when created.
    let metrics = DemoMetrics.bootstrap(configuration.metrics)
    let app = try await DemoApplication.make(configuration: configuration, logger: logger, metrics: metrics)
    try await app.runService()
} catch {
    FileHandle.standardError.write(Data("session-demo: \(error)\n".utf8))
    exit(1)
}
