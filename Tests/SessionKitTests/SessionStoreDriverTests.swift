import Foundation
import Logging
import SessionKit
import Testing

/// The core drivers make their store and say whether it has background work.
@Suite struct SessionStoreDriverTests {
    private let logger = Logger(label: "sessionkit.test")

    @Test func memoryDriverMakesAMemoryStoreWithSweeps() async throws {
        let backend = try await SessionStoreDriver.memory.makeBackend(logger: logger)

        #expect(backend.store is MemoryStore)
        #expect(backend.cookieStore == nil)
        #expect(backend.hasBackgroundWork)
        #expect(try backend.makeEngine().storeName == "memory")
    }

    @Test func fileDriverMakesAFileStoreInItsDirectory() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-driver-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }

        let backend = try await SessionStoreDriver.file(directory: folder).makeBackend(logger: logger)

        #expect(backend.store is FileStore)
        #expect(backend.hasBackgroundWork)
        #expect(FileManager.default.fileExists(atPath: folder))
    }

    @Test func cookieDriverHasNoStoreAndNoBackgroundWork() async throws {
        let backend = try await SessionStoreDriver.cookie(keys: [try CookieStore.Key.generate(id: "k1")]).makeBackend(logger: logger)

        #expect(backend.store == nil)
        #expect(backend.cookieStore != nil)
        #expect(!backend.hasBackgroundWork)
        #expect(try backend.makeEngine().storeName == "cookie")
        // Nothing to run: it returns at once.
        try await backend.run()
    }

    @Test func badStoreSettingIsThrownWhenTheStoreIsMade() async {
        let driver = SessionStoreDriver.memory(configuration: .init(maximumSessions: 0))

        let error = await #expect(throws: SessionConfigurationError.self) {
            _ = try await driver.makeBackend(logger: logger)
        }

        #expect(error?.setting == "MemoryStore.maximumSessions")
    }

    @Test func cookieDriverWithoutKeysIsAConfigurationError() async {
        let error = await #expect(throws: SessionConfigurationError.self) {
            _ = try await SessionStoreDriver.cookie(keys: []).makeBackend(logger: logger)
        }

        #expect(error?.setting == "SESSION_COOKIE_KEYS")
    }

    @Test func engineSettingsAreCheckedWhenTheEngineIsMade() async throws {
        let backend = try await SessionStoreDriver.cookie(keys: [try CookieStore.Key.generate(id: "k1")]).makeBackend(logger: logger)
        var configuration = SessionEngine.Configuration()
        configuration.payloadEncryption = try SessionPayloadEncryption(keys: [try CookieStore.Key.generate(id: "p1")])

        #expect(throws: SessionConfigurationError.self) {
            _ = try backend.makeEngine(configuration: configuration)
        }
    }
}
