import Foundation
import SessionKit
import SessionKitVapor
import Synchronization
import Testing
import Vapor
import VaporTesting

/// The Vapor-side set-up: `app.sessionKit` and the store's background work.
@Suite struct ApplicationTests {
    @Test func engineIsKeptOnTheApplication() async throws {
        try await withApp { app in
            let engine = try SessionEngine(store: try MemoryStore())
            app.sessionKit.engine = engine

            #expect(app.sessionKit.engine.storeName == "memory")
            #expect(app.sessionKit.middleware.engine.storeName == "memory")
        }
    }

    @Test func middlewareOnARouteGroupServesOnlyThatGroup() async throws {
        try await withApp { app in
            app.sessionKit.engine = try SessionEngine(store: try MemoryStore())
            let sessions = app.grouped(app.sessionKit.middleware)
            sessions.get("with") { req in req.sessionKit.csrfToken() }
            app.get("without") { _ in "plain" }

            let with = try await app.testing().sendRequest(.GET, "/with")
            let without = try await app.testing().sendRequest(.GET, "/without")

            #expect(with.headers[.setCookie].count == 2)
            #expect(without.headers[.setCookie].isEmpty)
        }
    }

    /// The store's `run()` starts when the app boots and is cancelled, and awaited, at shutdown.
    @Test func backgroundWorkRunsWhileTheAppRuns() async throws {
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let ended = Mutex(false)
        let app = try await Application.make(.testing)
        app.lifecycle.use(
            SessionStoreLifecycleHandler(run: {
                startedContinuation.yield()
                do {
                    try await Task.sleep(for: .seconds(3600))
                } catch {
                    ended.withLock { $0 = true }
                    throw error
                }
            })
        )

        try await app.asyncBoot()
        var iterator = started.makeAsyncIterator()
        await iterator.next()
        #expect(!ended.withLock { $0 })

        try await app.asyncShutdown()
        #expect(ended.withLock { $0 })
    }

    /// A failing background task is logged, and neither crashes the app nor stops shutdown.
    @Test func failingBackgroundWorkDoesNotStopTheApp() async throws {
        struct SweepFailure: Error {}
        let (finished, finishedContinuation) = AsyncStream<Void>.makeStream()
        let app = try await Application.make(.testing)
        app.lifecycle.use(
            SessionStoreLifecycleHandler(run: {
                defer { finishedContinuation.finish() }
                throw SweepFailure()
            })
        )

        try await app.asyncBoot()
        for await _ in finished {}
        try await app.asyncShutdown()
    }
}
