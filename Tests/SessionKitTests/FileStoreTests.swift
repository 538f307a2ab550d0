import Foundation
import SessionKit
import SessionKitConformance
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct FileStoreTests {
    private static let isRoot = geteuid() == 0

    private func liveRecord(_ data: [UInt8] = [1, 2, 3]) -> SessionRecord {
        SessionRecord(key: SessionToken.generate().key, data: data, expiresAt: Date() + 600)
    }

    private func create(_ record: SessionRecord, in store: FileStore) async throws -> SessionVersion {
        let result = try await store.save(record, expecting: nil)
        guard case .saved(let version) = result else {
            Issue.record("creating a record returned \(result)")
            return .initial
        }
        return version
    }

    private func sessionPath(_ key: SessionKey, in directory: StoreTestDirectory) -> String {
        directory.path + "/" + key.hex
    }

    @Test func fileLayoutMatchesTheDocumentedFormat() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let token = SessionToken.generate()
        let record = SessionRecord(key: token.key, data: [0xDE, 0xAD], expiresAt: Date(timeIntervalSince1970: 4_102_444_800.5))

        #expect(try await store.save(record, expecting: nil) == .saved(.initial))

        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(names.contains(token.key.hex))
        #expect(!names.contains { $0.contains(token.cookieValue) })
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: sessionPath(token.key, in: directory))))
        #expect(bytes.count == 42)
        #expect(Array(bytes[0..<4]) == Array("SKSF".utf8))
        #expect(Array(bytes[4..<8]) == [1, 0, 0, 0])
        #expect(Array(bytes[8..<16]) == [1, 0, 0, 0, 0, 0, 0, 0])
        let milliseconds = bytes[16..<24].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(milliseconds == 4_102_444_800_500)
        #expect(Array(bytes[24..<32]) == [2, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[40...]) == [0xDE, 0xAD])
    }

    @Test func initCreatesAMissingDirectoryForTheOwnerOnly() throws {
        let parent = try StoreTestDirectory()
        defer { parent.remove() }
        let path = parent.path + "/nested/sessions"

        let store = try FileStore(directory: path)

        #expect(store.directory == path)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int).map { $0 & 0o777 } == 0o700)
    }

    @Test func initRejectsARegularFileAsDirectory() throws {
        let parent = try StoreTestDirectory()
        defer { parent.remove() }
        let path = parent.path + "/not-a-directory"
        #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8)))

        let error = #expect(throws: SessionConfigurationError.self) {
            try FileStore(directory: path)
        }
        #expect(error?.setting == "FileStore.directory")
    }

    @Test func initRejectsANonPositiveSweepInterval() throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let error = #expect(throws: SessionConfigurationError.self) {
            try FileStore(directory: directory.path, configuration: .init(sweepInterval: .zero))
        }
        #expect(error?.setting == "FileStore.sweepInterval")
    }

    /// Ways a session file can be damaged on disk; each must load as no session.
    enum Damage: String, CaseIterable, Sendable {
        case flippedDataByte
        case flippedVersionByte
        case badMagic
        case unknownFormatVersion
        case emptyFile
        case truncatedHeader
        case truncatedData
        case extraByte

        func apply(to bytes: [UInt8]) -> [UInt8] {
            var bytes = bytes
            switch self {
            case .flippedDataByte: bytes[bytes.count - 1] ^= 0x01
            case .flippedVersionByte: bytes[8] ^= 0x01
            case .badMagic: bytes[0] = UInt8(ascii: "X")
            case .unknownFormatVersion: bytes[4] = 2
            case .emptyFile: bytes = []
            case .truncatedHeader: bytes = Array(bytes.prefix(20))
            case .truncatedData: bytes.removeLast()
            case .extraByte: bytes.append(0)
            }
            return bytes
        }
    }

    @Test(arguments: Damage.allCases)
    func damagedFileLoadsAsNilAndIsRemoved(_ damage: Damage) async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let record = liveRecord(Array("{\"user\":42}".utf8))
        _ = try await create(record, in: store)
        let path = sessionPath(record.key, in: directory)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try Data(damage.apply(to: bytes)).write(to: URL(fileURLWithPath: path))

        #expect(try await store.load(record.key) == nil)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func createReplacesADamagedFile() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let record = liveRecord()
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: sessionPath(record.key, in: directory)))

        #expect(try await store.save(record, expecting: .initial) == .conflict)
        #expect(try await store.save(record, expecting: nil) == .saved(.initial))
        #expect(try await store.load(record.key)?.record.data == record.data)
    }

    @Test func sweepIgnoresFilesItDoesNotOwn() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let live = liveRecord()
        _ = try await create(live, in: store)
        let foreign = [
            "README",
            "notes.txt",
            String(repeating: "A", count: 64),  // uppercase: not a key
            String(repeating: "a", count: 63),
            String(repeating: "a", count: 64) + ".bak",
            ".hidden",
        ]
        for name in foreign {
            #expect(FileManager.default.createFile(atPath: directory.path + "/" + name, contents: Data("hello".utf8)))
        }
        try FileManager.default.createDirectory(atPath: directory.path + "/subdirectory", withIntermediateDirectories: false)

        #expect(try store.sweepExpired() == 0)

        for name in foreign + ["subdirectory"] {
            #expect(FileManager.default.fileExists(atPath: directory.path + "/" + name), "\(name) was removed")
        }
        #expect(try await store.load(live.key) != nil)
    }

    @Test func sweepRemovesExpiredFilesAndStaleTemporaryFiles() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let live = liveRecord()
        _ = try await create(live, in: store)
        var expired: [SessionKey] = []
        for _ in 0..<2 {
            let record = SessionRecord(key: SessionToken.generate().key, data: [9], expiresAt: Date() - 5)
            _ = try await create(record, in: store)
            expired.append(record.key)
        }
        let stale = directory.path + "/.tmp-0123456789abcdef"
        let fresh = directory.path + "/.tmp-fedcba9876543210"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data([1])))
        #expect(FileManager.default.createFile(atPath: fresh, contents: Data([1])))
        try FileManager.default.setAttributes([.modificationDate: Date() - 3_600], ofItemAtPath: stale)

        #expect(try store.sweepExpired() == 2)

        for key in expired {
            #expect(!FileManager.default.fileExists(atPath: sessionPath(key, in: directory)))
        }
        #expect(FileManager.default.fileExists(atPath: sessionPath(live.key, in: directory)))
        #expect(!FileManager.default.fileExists(atPath: stale))
        // A young temporary file may belong to a write in progress in another process.
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(try store.sweepExpired() == 0)
    }

    @Test func sweepFollowsTheInjectedClock() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let clock = ManualClock(now: Date())
        let store = try FileStore(directory: directory.path, clock: clock)
        let record = liveRecord()
        _ = try await create(record, in: store)
        #expect(try store.sweepExpired() == 0)

        clock.advance(by: .seconds(601))

        #expect(try await store.load(record.key) == nil)
        #expect(try store.sweepExpired() == 0)  // The load already removed it.
        #expect(!FileManager.default.fileExists(atPath: sessionPath(record.key, in: directory)))
    }

    @Test func twoStoresOnOneDirectoryShareRecords() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let first = try FileStore(directory: directory.path)
        let second = try FileStore(directory: directory.path)
        let record = liveRecord()

        let version = try await create(record, in: first)
        #expect(try await second.load(record.key)?.version == version)
        #expect(try await second.save(record, expecting: nil) == .conflict)
        try await second.delete(record.key)
        #expect(try await first.load(record.key) == nil)
        #expect(try await first.save(record, expecting: version) == .conflict)
    }

    /// Two processes sharing the folder, each with its own store, race to update
    /// one session from the same loaded version: the file lock lets exactly one win.
    @Test func concurrentUpdatesFromTwoStoresOnOneDirectoryHaveOneWinner() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let stores = [try FileStore(directory: directory.path), try FileStore(directory: directory.path)]
        let original = liveRecord([255])
        let version = try await create(original, in: stores[0])

        let results = try await withThrowingTaskGroup(of: (UInt8, SessionSaveResult).self) { group in
            for index in 0..<20 {
                group.addTask {
                    var record = original
                    record.data = [UInt8(index)]
                    return (UInt8(index), try await stores[index % 2].save(record, expecting: version))
                }
            }
            return try await group.reduce(into: [(UInt8, SessionSaveResult)]()) { $0.append($1) }
        }

        let winners = results.filter { $0.1 != .conflict }
        try #require(winners.count == 1)
        let loaded = try #require(try await stores[1].load(original.key))
        #expect(loaded.record.data == [winners[0].0])
        #expect(.saved(loaded.version) == winners[0].1)
    }

    /// Root ignores directory permissions, so this runs only as an ordinary user;
    /// ``directoryReplacedByAFileIsUnavailable()`` covers the failure path as root.
    @Test(.enabled(if: !isRoot, "root can write to a read-only directory"))
    func readOnlyDirectoryIsUnavailableOnSave() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let existing = liveRecord()
        let version = try await create(existing, in: store)
        #expect(chmod(directory.path, 0o500) == 0)

        for (record, expected) in [(liveRecord(), nil), (existing, version)] as [(SessionRecord, SessionVersion?)] {
            let error = await #expect(throws: SessionStoreError.self) {
                try await store.save(record, expecting: expected)
            }
            #expect(error?.code == .unavailable)
            #expect(error?.storeName == "file")
            #expect(error?.cause != nil)
        }
        // The record that was there is still there.
        #expect(try await store.load(existing.key)?.version == version)
    }

    @Test(.enabled(if: !isRoot, "root can read a file with mode 000"))
    func unreadableSessionFileIsUnavailableOnLoad() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let record = liveRecord()
        _ = try await create(record, in: store)
        #expect(chmod(sessionPath(record.key, in: directory), 0o000) == 0)

        let error = await #expect(throws: SessionStoreError.self) {
            try await store.load(record.key)
        }
        #expect(error?.code == .unavailable)
    }

    /// Works as root too: once the directory is a regular file, every path under it fails with ENOTDIR.
    @Test func directoryReplacedByAFileIsUnavailable() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let path = directory.path + "/sessions"
        let store = try FileStore(directory: path)
        let record = liveRecord()
        let version = try await create(record, in: store)
        try FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: path, contents: Data("not a directory".utf8)))

        let saveError = await #expect(throws: SessionStoreError.self) {
            try await store.save(self.liveRecord(), expecting: nil)
        }
        #expect(saveError?.code == .unavailable)
        let updateError = await #expect(throws: SessionStoreError.self) {
            try await store.save(record, expecting: version)
        }
        #expect(updateError?.code == .unavailable)
        let loadError = await #expect(throws: SessionStoreError.self) {
            try await store.load(record.key)
        }
        #expect(loadError?.code == .unavailable)
        #expect(throws: SessionStoreError.self) { try store.sweepExpired() }
    }

    @Test func runReturnsWhenCancelled() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path, configuration: .init(sweepInterval: .seconds(3_600)))
        let sweeper = Task { try await store.run() }
        sweeper.cancel()
        try await sweeper.value
    }
}

/// A fresh directory under the system's temporary directory, for one test.
struct StoreTestDirectory: Sendable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("sessionkit-store-tests-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Removes the directory, restoring permissions a test may have taken away.
    func remove() {
        _ = chmod(path, 0o700)
        try? FileManager.default.removeItem(atPath: path)
    }
}
