import Foundation
import SessionKit
import SessionKitConformance
import Testing

@testable import SessionKit

/// The engine's cache of decoded records: used only for the exact bytes it was
/// made from, bounded, emptied of deleted records, and never a way to see a
/// record that changed elsewhere as it was.
@Suite struct DecodedRecordCacheTests {
    private static func payload(_ values: [String: SessionValue]) -> SessionPayload {
        var payload = SessionPayload(createdAt: 1_700_000_000)
        payload.values = values
        return payload
    }

    @Test func aRememberedPayloadIsUsedForItsExactBytesOnly() throws {
        let cache = DecodedRecordCache(capacity: 8)
        let key = SessionToken.generate().key
        let written = Self.payload(["user": "alice"])
        let bytes = written.encoded()
        // Remember a payload that differs from what the bytes decode to: a hit is then visible.
        let marked = Self.payload(["user": "marked"])
        cache.remember(marked, data: bytes, under: key)

        #expect(cache.payload(of: bytes, under: key) == marked, "the same bytes are not decoded again")
        #expect(cache.payload(of: Array(bytes), under: key) == marked, "equal bytes in another array are the same record")
        let changed = Self.payload(["user": "bob"]).encoded()
        #expect(cache.payload(of: changed, under: key) == Self.payload(["user": "bob"]), "other bytes are decoded")
        #expect(cache.payload(of: bytes, under: SessionToken.generate().key) == written, "another key is decoded")
    }

    @Test func unreadableBytesAreNoPayloadAndNotKept() {
        let cache = DecodedRecordCache(capacity: 8)
        #expect(cache.payload(of: Array("not json".utf8), under: SessionToken.generate().key) == nil)
        #expect(cache.count == 0)
    }

    @Test func theCacheKeepsAtMostItsCapacity() {
        let cache = DecodedRecordCache(capacity: 10)
        let bytes = Self.payload(["n": 1]).encoded()
        let keys = (0..<25).map { _ in SessionToken.generate().key }
        for key in keys { _ = cache.payload(of: bytes, under: key) }

        #expect(cache.count <= 10)
        // The newest entries survive a rotation; a hit in the older generation moves it forward.
        let marked = Self.payload(["n": 2])
        cache.remember(marked, data: bytes, under: keys[24])
        #expect(cache.payload(of: bytes, under: keys[24]) == marked)
    }

    @Test func aZeroCapacityKeepsNothing() {
        let cache = DecodedRecordCache(capacity: 0)
        let key = SessionToken.generate().key
        let bytes = Self.payload(["n": 1]).encoded()
        cache.remember(Self.payload(["n": 2]), data: bytes, under: key)

        #expect(cache.payload(of: bytes, under: key) == Self.payload(["n": 1]))
        #expect(cache.count == 0)
    }

    @Test func aNegativeCapacityIsRefusedAtStartUp() {
        var configuration = SessionEngine.Configuration()
        configuration.decodedRecordCacheCapacity = -1
        let error = #expect(throws: SessionConfigurationError.self) { try configuration.validate() }
        #expect(error?.setting == "decodedRecordCacheCapacity")
    }

    @Test func aRecordChangedByAnotherEngineIsSeenChanged() async throws {
        let store = try MemoryStore()
        let first = try SessionEngine(store: store)
        let second = try SessionEngine(store: store)
        let created = try await first.commit(try await first.load(token: nil).with { $0.put("count", 1) })
        let token = try #require(created.token)
        // The first engine remembers what it wrote and what it read.
        #expect(try await first.load(token: token).get("count") == 1)

        _ = try await second.commit(try await second.load(token: token).with { $0.increment("count") })

        #expect(try await first.load(token: token).get("count") == 2)
    }

    @Test func aNonFiniteDoubleReadsBackAsNullAsWithoutTheCache() async throws {
        let engine = try SessionEngine(store: try MemoryStore())
        let created = try await engine.commit(try await engine.load(token: nil).with { $0.put("x", .double(.infinity)) })
        let token = try #require(created.token)

        #expect(try await engine.load(token: token).get("x") == .null)
    }

    @Test func aDeletedSessionLeavesTheCache() async throws {
        var configuration = SessionEngine.Configuration()
        // Without CSRF, logging out starts no new session (it would get a fresh secret).
        configuration.csrf.mode = .disabled
        let engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
        let created = try await engine.commit(try await engine.load(token: nil).with { $0.put("user", "alice") })
        let token = try #require(created.token)
        #expect(engine.decodedRecords.count == 1)

        let logout = try await engine.commit(try await engine.load(token: token).with { $0.invalidate() })

        #expect(logout.action == .invalidated && logout.token == nil)
        #expect(engine.decodedRecords.count == 0)
        #expect(try await engine.load(token: token).get("user") == nil)
    }
}

extension RequestSession {
    /// Runs `change` on the session and returns it, for one-line requests in tests.
    fileprivate func with(_ change: (RequestSession) -> Void) -> RequestSession {
        change(self)
        return self
    }
}
