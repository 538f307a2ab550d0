#if Vapor
public import SessionKit
public import Vapor

extension Application {
    /// The app's SessionKit set-up: its engine and the middleware on it.
    ///
    /// ```swift
    /// app.sessionKit.engine = try SessionEngine(store: MemoryStore())
    /// app.middleware.use(app.sessionKit.middleware)
    /// ```
    ///
    /// Named `sessionKit` beside Vapor's own `app.sessions`, which configures `SessionsMiddleware`.
    public var sessionKit: SessionKitConfiguration {
        SessionKitConfiguration(application: self)
    }

    /// Where an app keeps its SessionKit engine; reached through ``Application/sessionKit``.
    ///
    /// It does not start the store's background work: register a
    /// ``SessionStoreLifecycleHandler`` with `app.lifecycle.use(_:)` for that.
    public struct SessionKitConfiguration: Sendable {
        private let application: Application

        init(application: Application) {
            self.application = application
        }

        /// The engine that loads and commits sessions; set it while configuring the app.
        ///
        /// - Precondition: It is set before it is read (and before ``middleware``).
        public var engine: SessionEngine {
            get {
                guard let engine = application.storage[EngineKey.self] else {
                    preconditionFailure("app.sessionKit.engine is not set; assign a SessionEngine before using app.sessionKit")
                }
                return engine
            }
            nonmutating set {
                application.storage[EngineKey.self] = newValue
            }
        }

        /// A ``SessionKitVaporMiddleware`` on ``engine``, for `app.middleware.use(_:)` or a route group.
        public var middleware: SessionKitVaporMiddleware {
            SessionKitVaporMiddleware(engine: engine)
        }

        private struct EngineKey: StorageKey {
            typealias Value = SessionEngine
        }
    }
}
#endif  // Vapor
