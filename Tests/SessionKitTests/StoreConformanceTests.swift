import Foundation
import SessionKit
import SessionKitConformance
import Testing

/// Runs the public conformance suite against the built-in stores.
@Suite struct StoreConformanceTests {
    @Test(arguments: SessionStoreConformance.checks)
    func memoryStoreConforms(_ check: SessionStoreConformance.Check) async throws {
        try await check.run { try MemoryStore() }
    }

    @Test(arguments: SessionStoreConformance.checks)
    func fileStoreConforms(_ check: SessionStoreConformance.Check) async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        try await check.run { try FileStore(directory: directory.path) }
    }
}
