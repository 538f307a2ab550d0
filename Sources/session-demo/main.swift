import Foundation
import Hummingbird
import Logging
import SessionDemoApp

// `swift run session-demo`: the demo on 127.0.0.1:8080 with the file store,
// configured by environment variables (see the README).
var logger = Logger(label: "session-demo")
logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
do {
    let configuration = try DemoConfiguration(environment: ProcessInfo.processInfo.environment)
    let app = try DemoApplication.make(configuration: configuration, logger: logger)
    try await app.runService()
} catch {
    FileHandle.standardError.write(Data("session-demo: \(error)\n".utf8))
    exit(1)
}
