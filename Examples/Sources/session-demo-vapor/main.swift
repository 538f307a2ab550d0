import Foundation
import Logging
import SessionDemoSupport
import SessionDemoVaporApp
import Vapor

// `swift run --package-path Examples session-demo-vapor`: the same demo as `session-demo`, on Vapor, on
// 127.0.0.1:8080 with the SQLite store, configured by the same environment variables.
// Without arguments Vapor runs its `serve` command; `--hostname` and `--port`
// given on the command line override HOST and PORT, as in any Vapor app.
do {
    let configuration = try DemoConfiguration(environment: ProcessInfo.processInfo.environment)
    // Before the app and the engine exist: both take their metrics from `MetricsSystem.factory`.
    let metrics = DemoMetrics.bootstrap(configuration.metrics)
    let app = try await Application.make(try Environment.detect())
    app.logger.logLevel = configuration.logLevel
    do {
        try await DemoVaporApplication.configure(app, configuration: configuration, metrics: metrics)
        try await app.execute()
    } catch {
        try? await app.asyncShutdown()
        throw error
    }
    try await app.asyncShutdown()
} catch {
    FileHandle.standardError.write(Data("session-demo-vapor: \(error)\n".utf8))
    exit(1)
}
