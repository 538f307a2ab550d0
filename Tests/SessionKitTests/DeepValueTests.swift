import Foundation
import SessionKit
import SessionKitConformance
import Testing

@Suite struct DeepValueTests {
    /// `levels` arrays inside each other, around `1`.
    private func nested(_ levels: Int) -> SessionValue {
        var value = SessionValue.int(1)
        for _ in 0..<levels { value = .array([value]) }
        return value
    }

    @Test func theDeepestValueJSONTextAcceptsRoundTripsThroughTheStore() async throws {
        let harness = try EngineHarness()
        let text = String(repeating: "[", count: 256) + "1" + String(repeating: "]", count: 256)
        let value = try SessionValue(jsonText: text)
        #expect(throws: (any Error).self) { try SessionValue(jsonText: "[" + text + "]") }

        let token = try #require(try await harness.request(nil) { $0.put("deep", value) }.token)
        #expect(try await harness.load(token).get("deep") == value)
    }

    @Test func aValueBuiltDeeperThanTheReaderAcceptsIsRefusedAndTheSessionKeepsItsData() async throws {
        let harness = try EngineHarness()
        let token = try #require(try await harness.request(nil) { $0.put("user", "alice") }.token)

        let session = try await harness.load(token)
        session.put("deep", nested(300))
        let error = await #expect(throws: SessionStoreError.self) { try await harness.engine.commit(session) }
        #expect(error?.code == .invalidData)
        #expect(error?.responseMessage.contains("refused the session") == true)
        #expect(error?.responseMessage.contains("deeper than 256 levels") == true)

        let reloaded = try await harness.load(token)
        #expect(reloaded.get("user") == "alice")
        #expect(reloaded.get("deep") == nil)
    }

    @Test func aNewSessionWithATooDeepValueIsNotCreated() async throws {
        let harness = try EngineHarness()
        let session = try await harness.load(nil)
        session.put("deep", nested(257))
        await #expect(throws: SessionStoreError.self) { try await harness.engine.commit(session) }
    }
}
