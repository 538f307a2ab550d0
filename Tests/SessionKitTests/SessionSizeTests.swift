import Foundation
import SessionKit
import SessionKitConformance
import Testing

@testable import SessionKit

/// Unbounded session size (issue 16, item 4): a request could grow a session
/// without limit, every later change rewrote all of it, and the decoded-record
/// cache held any number of bytes as long as it held at most 1,024 records.
@Suite struct SessionSizeTests {
    /// Memory and write amplification by a session grown without bound: a write
    /// past ``SessionEngine/Configuration/maximumSessionSize`` fails that request
    /// with a 413 and leaves the stored session exactly as it was, byte for byte.
    @Test func oversizedWriteFailsWith413AndLeavesTheStoredSessionAsItWas() async throws {
        let harness = try EngineHarness()
        let token = try await harness.createSession(["user": "alice"])
        let before = try #require(try await harness.store.load(token.key))

        let session = try await harness.load(token)
        session.put("blob", .string(String(repeating: "x", count: harness.engine.configuration.maximumSessionSize)))
        let error = await #expect(throws: SessionStoreError.self) { try await harness.engine.commit(session) }

        #expect(error?.code == .sessionTooLarge)
        #expect(error?.response.status == 413)
        #expect(error?.responseMessage.contains("too large") == true, "\(error?.responseMessage ?? "no error")")
        let after = try #require(try await harness.store.load(token.key))
        // Compared outside the macro: a failure would otherwise print both 256 KiB arrays.
        let isUnchanged = after.record.data == before.record.data
        #expect(isUnchanged, "the stored bytes changed: \(before.record.data.count) before, \(after.record.data.count) after")
        #expect(after.version == before.version)
        #expect(after.record.expiresAt == before.record.expiresAt)
        #expect(try await harness.load(token).get("user") == "alice")
    }

    /// A new session past the limit is not created at all.
    @Test func oversizedNewSessionIsNotCreated() async throws {
        let harness = try EngineHarness { $0.maximumSessionSize = 4096 }
        let session = try await harness.load(nil)
        session.put("blob", .string(String(repeating: "x", count: 4096)))

        let error = await #expect(throws: SessionStoreError.self) { try await harness.engine.commit(session) }

        #expect(error?.code == .sessionTooLarge)
        #expect(harness.store.count == 0)
    }

    /// A conflict replay that would grow the session past the limit fails alike and writes nothing.
    @Test func oversizedReplayAfterAConflictWritesNothing() async throws {
        let harness = try EngineHarness { $0.maximumSessionSize = 4096 }
        let token = try await harness.createSession(["user": "alice"])
        let slow = try await harness.load(token)
        // Another request grows the session to near the limit meanwhile.
        try await harness.request(token) { $0.put("first", .string(String(repeating: "a", count: 3000))) }
        let before = try #require(try await harness.store.load(token.key))
        slow.put("second", .string(String(repeating: "b", count: 3000)))

        let error = await #expect(throws: SessionStoreError.self) { try await harness.engine.commit(slow) }

        #expect(error?.code == .sessionTooLarge)
        let after = try #require(try await harness.store.load(token.key))
        let isUnchanged = after.record.data == before.record.data && after.version == before.version
        #expect(isUnchanged, "the stored session changed")
    }

    @Test func aSessionWithinTheLimitIsSaved() async throws {
        let harness = try EngineHarness { $0.maximumSessionSize = 4096 }
        let token = try await harness.createSession(["user": "alice"])
        let result = try await harness.request(token) { $0.put("note", .string(String(repeating: "n", count: 3000))) }
        #expect(result.action == .saved)
    }

    @Test func theDefaultIsAtMostOneMebibyte() {
        let configuration = SessionEngine.Configuration()
        #expect(configuration.maximumSessionSize == 256 * 1024)
        #expect(configuration.maximumSessionSize <= 1 << 20)
        #expect(configuration.decodedRecordCacheByteBudget == 16 << 20)
    }

    @Test(arguments: [-1, 0, 1023])
    func aMaximumSessionSizeBelowOneKibibyteIsRefusedAtStartUp(_ size: Int) {
        var configuration = SessionEngine.Configuration()
        configuration.maximumSessionSize = size
        let error = #expect(throws: SessionConfigurationError.self) { try configuration.validate() }
        #expect(error?.setting == "maximumSessionSize")
        #expect(error?.reason.contains("1,024") == true)
    }

    @Test func aNegativeCacheByteBudgetIsRefusedAtStartUp() {
        var configuration = SessionEngine.Configuration()
        configuration.decodedRecordCacheByteBudget = -1
        let error = #expect(throws: SessionConfigurationError.self) { try configuration.validate() }
        #expect(error?.setting == "decodedRecordCacheByteBudget")
    }
}

extension SessionSizeTests {
    /// The decoded-record cache is bounded by bytes as well as by entries.
    @Suite struct CacheByteBudgetTests {
        private static func bytes(_ count: Int) -> [UInt8] {
            var payload = SessionPayload(createdAt: 1_700_000_000)
            payload.values = ["blob": .string(String(repeating: "x", count: count))]
            return payload.encoded()
        }

        /// Memory held by the cache: 1,024 records of 1 MiB each were 1 GiB; now the budget holds.
        @Test func theCacheKeepsAtMostItsByteBudget() {
            let cache = DecodedRecordCache(capacity: 1024, byteBudget: 10_000)
            let data = Self.bytes(1000)
            for _ in 0..<50 { _ = cache.payload(of: data, under: SessionToken.generate().key) }

            #expect(cache.byteCount <= 10_000, "\(cache.byteCount) bytes kept")
            #expect(cache.count >= 5, "the cache still keeps what fits: \(cache.count) entries")
        }

        @Test func aRecordLargerThanHalfTheBudgetIsNotKept() {
            let cache = DecodedRecordCache(capacity: 1024, byteBudget: 10_000)
            let small = SessionToken.generate().key
            _ = cache.payload(of: Self.bytes(100), under: small)
            _ = cache.payload(of: Self.bytes(6000), under: SessionToken.generate().key)

            #expect(cache.count == 1)
            #expect(cache.byteCount < 5000)
        }

        @Test func aZeroByteBudgetKeepsNothing() {
            let cache = DecodedRecordCache(capacity: 1024, byteBudget: 0)
            _ = cache.payload(of: Self.bytes(10), under: SessionToken.generate().key)
            #expect(cache.count == 0)
        }

        @Test func theEngineHandsItsBudgetToTheCache() throws {
            var configuration = SessionEngine.Configuration()
            configuration.decodedRecordCacheByteBudget = 12_345
            let engine = try SessionEngine(store: try MemoryStore(), configuration: configuration)
            #expect(engine.decodedRecords.byteBudget == 12_345)
        }
    }
}
