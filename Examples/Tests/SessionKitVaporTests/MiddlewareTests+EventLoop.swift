import Foundation
import NIOPosix
import SessionKit
import SessionKitConformance
import SessionKitVapor
import Synchronization
import Testing
import Vapor
import VaporTesting

/// Forwards to a ``MemoryStore``, saying it blocks its calling thread or not, and
/// records whether each call ran on an event loop thread.
private final class ThreadRecordingStore: SessionStore {
    let inner = try! MemoryStore()
    let blocksCallingThread: Bool
    private let calls = Mutex<[Bool]>([])

    init(blocksCallingThread: Bool) {
        self.blocksCallingThread = blocksCallingThread
    }

    var name: String { "recording" }
    /// For each call so far: whether it ran on an event loop.
    var callsOnEventLoop: [Bool] { calls.withLock { $0 } }

    private func record() {
        let onEventLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
        calls.withLock { $0.append(onEventLoop) }
    }

    func load(_ key: SessionKey) async throws -> StoredSession? {
        record()
        return try await inner.load(key)
    }

    func save(_ record: SessionRecord, expecting version: SessionVersion?) async throws -> SessionSaveResult {
        self.record()
        return try await inner.save(record, expecting: version)
    }

    func touch(_ key: SessionKey, expiresAt: Date) async throws {
        record()
        try await inner.touch(key, expiresAt: expiresAt)
    }

    func delete(_ key: SessionKey) async throws {
        record()
        try await inner.delete(key)
    }
}

extension MiddlewareTests {
    /// Two requests (start a session, then change it) against a real server on `store`.
    private func twoRequests(on store: ThreadRecordingStore) async throws {
        let engine = try SessionEngine(store: store)
        try await withApp(configure: { app in
            app.sessionKit.engine = engine
            app.middleware.use(app.sessionKit.middleware)
            Self.routes(app)
        }) { app in
            var jar = CookieJar()
            let client = try app.testing(method: .running(port: 0))
            #expect(try await client.send(.GET, "/token", jar: &jar).status == .ok)
            let token = try #require(jar[xsrfCookieName])
            #expect(try await client.send(.POST, "/count", jar: &jar, headers: .json(token: token)).status == .ok)
        }
    }

    @Test func storeCallsOfANonBlockingStoreRunOnTheRequestsEventLoop() async throws {
        let store = ThreadRecordingStore(blocksCallingThread: false)
        try await twoRequests(on: store)
        #expect(store.callsOnEventLoop.count >= 3)
        #expect(store.callsOnEventLoop.allSatisfy { $0 })
    }

    @Test func storeCallsOfABlockingStoreRunOffTheEventLoops() async throws {
        let store = ThreadRecordingStore(blocksCallingThread: true)
        try await twoRequests(on: store)
        #expect(store.callsOnEventLoop.count >= 3)
        #expect(store.callsOnEventLoop.allSatisfy { !$0 })
    }

    /// The file store runs its system calls on threads of its own, so its calls may start on the event loop.
    @Test func theFileStoreSaysItDoesNotBlockItsCallingThread() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try !FileStore(directory: directory).blocksCallingThread)
        #expect(try !MemoryStore().blocksCallingThread)
    }
}
