#if Vapor
public import SessionKit
import Synchronization
public import Vapor

extension Application {
    /// The app's SessionKit set-up: its engine, the store's lifecycle and the middleware.
    ///
    /// ```swift
    /// try await app.sessionKit.use(.sqlite(path: "sessions.sqlite"))
    /// app.middleware.use(app.sessionKit.middleware)
    /// ```
    ///
    /// Named `sessionKit` beside Vapor's own `app.sessions`, which configures `SessionsMiddleware`.
    public var sessionKit: SessionKitConfiguration {
        SessionKitConfiguration(application: self)
    }

    /// Where an app keeps its SessionKit engine; reached through ``Application/sessionKit``.
    public struct SessionKitConfiguration: Sendable {
        private let application: Application

        init(application: Application) {
            self.application = application
        }

        /// Makes the store a driver describes, the engine on it, and registers
        /// the store's background work (sweeps, connection pools) with the app's
        /// lifecycle: it starts when the app boots and is cancelled at shutdown.
        ///
        /// Call it once, while configuring the app, before it boots:
        ///
        /// ```swift
        /// try await app.sessionKit.use(.memory)
        /// try await app.sessionKit.use(.redis(url: Environment.get("REDIS_URL")!), configuration: engineConfiguration)
        /// ```
        ///
        /// A store with no background work (``SessionStoreDriver/cookie(keys:ownerEpoch:)``)
        /// registers no lifecycle handler.
        ///
        /// - Parameters:
        ///   - driver: The store, for example `.memory`, `.file(directory:)`,
        ///     `.sqlite(path:)`, `.postgres(url:)`, `.redis(url:)`, `.cookie(keys:)`,
        ///     or `SessionStoreDriver(url:)` of `SessionKitStores`.
        ///   - configuration: The engine's cookie, timeout and CSRF settings.
        /// - Throws: ``SessionKit/SessionConfigurationError`` naming the setting when
        ///   the store or the engine cannot be set up, or when an engine is already set.
        public func use(_ driver: SessionStoreDriver, configuration: SessionEngine.Configuration = .init()) async throws {
            guard slot.engine == nil else {
                throw SessionConfigurationError(
                    setting: "app.sessionKit",
                    reason: "an engine is set already; call app.sessionKit.use(_:) once, while configuring the app"
                )
            }
            let backend = try await driver.makeBackend(logger: application.logger)
            let engine = try backend.makeEngine(configuration: configuration, logger: application.logger)
            if backend.hasBackgroundWork {
                application.lifecycle.use(SessionStoreLifecycleHandler(run: backend.run))
            }
            slot.engine = engine
        }

        /// The engine that loads and commits sessions, set by ``use(_:configuration:)``
        /// or assigned directly while configuring the app.
        ///
        /// - Precondition: It is set before it is read. (``middleware`` does not read
        ///   it: a missing engine fails the app's start-up instead.)
        public var engine: SessionEngine {
            get {
                guard let engine = slot.engine else {
                    preconditionFailure("app.sessionKit.engine is not set; call app.sessionKit.use(_:) before reading it")
                }
                return engine
            }
            nonmutating set {
                slot.engine = newValue
            }
        }

        /// A ``SessionKitVaporMiddleware`` on this app's engine, for `app.middleware.use(_:)`
        /// or a route group; it answers SessionKit's own refusals and store failures.
        ///
        /// It may be registered before ``use(_:configuration:)``: it finds the
        /// engine when a request comes. An app that boots without an engine fails
        /// to start with a ``SessionKit/SessionConfigurationError`` saying to call
        /// `app.sessionKit.use(_:)`.
        public var middleware: SessionKitVaporMiddleware {
            middleware(throwsErrors: false)
        }

        /// A ``SessionKitVaporMiddleware`` on this app's engine that may throw
        /// its refusals and store failures to the app's error handling.
        ///
        /// - Parameter throwsErrors: `true` to throw a ``SessionKitVaporError``
        ///   (an `AbortError`) for a CSRF refusal, an oversized form or a store
        ///   failure, for the app's `ErrorMiddleware` (or a middleware of its own
        ///   registered before this one) to render; `false` to answer with
        ///   SessionKit's own responses, as ``middleware`` does.
        /// - Returns: The middleware.
        public func middleware(throwsErrors: Bool) -> SessionKitVaporMiddleware {
            registerStartupCheck()
            return SessionKitVaporMiddleware(engineSlot: slot, throwsErrors: throwsErrors)
        }

        /// The app's engine slot, shared with its middleware (which must not hold
        /// the app itself: the app holds its middleware).
        private var slot: SessionEngineSlot {
            // Configuration runs on one thread, as for every other `app.storage` entry.
            if let slot = application.storage[SlotKey.self] { return slot }
            let slot = SessionEngineSlot()
            application.storage[SlotKey.self] = slot
            return slot
        }

        /// Registers, once, the lifecycle handler that fails start-up without an engine.
        private func registerStartupCheck() {
            let slot = self.slot
            let isNew = slot.startupCheckRegistered.withLock { registered in
                defer { registered = true }
                return !registered
            }
            if isNew {
                application.lifecycle.use(SessionEngineStartupCheck(slot: slot))
            }
        }

        private struct SlotKey: StorageKey {
            typealias Value = SessionEngineSlot
        }
    }
}

/// The engine an app's middleware uses, found when a request comes.
final class SessionEngineSlot: Sendable {
    private let value = Mutex<SessionEngine?>(nil)
    let startupCheckRegistered = Mutex(false)

    var engine: SessionEngine? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}

/// Fails the app's start-up when its SessionKit middleware has no engine.
private struct SessionEngineStartupCheck: LifecycleHandler {
    let slot: SessionEngineSlot

    func willBoot(_ application: Application) throws {
        guard slot.engine == nil else { return }
        throw SessionConfigurationError(
            setting: "app.sessionKit",
            reason: "app.sessionKit.middleware is registered but no engine is set; "
                + "call `try await app.sessionKit.use(.memory)` (or another store) while configuring the app"
        )
    }
}
#endif  // Vapor
