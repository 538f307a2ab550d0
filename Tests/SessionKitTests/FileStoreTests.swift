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
        #expect(bytes.count == 46)
        #expect(Array(bytes[0..<4]) == Array("SKSF".utf8))
        #expect(Array(bytes[4..<8]) == [2, 0, 0, 0])
        #expect(Array(bytes[8..<16]) == [1, 0, 0, 0, 0, 0, 0, 0])
        let milliseconds = bytes[16..<24].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(milliseconds == 4_102_444_800_500)
        #expect(Array(bytes[24..<32]) == [2, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(bytes[32..<36]) == [0xFF, 0xFF, 0xFF, 0xFF])  // No owner.
        #expect(Array(bytes[44...]) == [0xDE, 0xAD])
    }

    @Test func fileLayoutHoldsTheOwnerAndItsIndexIsNamedByItsHash() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let record = SessionRecord(key: SessionToken.generate().key, data: [0xDE, 0xAD], expiresAt: Date() + 600, owner: Self.alice)

        _ = try await create(record, in: store)

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: sessionPath(record.key, in: directory))))
        #expect(bytes.count == 44 + 17 + 2)
        #expect(Array(bytes[32..<36]) == [17, 0, 0, 0])
        #expect(Array(bytes[36..<53]) == Array(Self.alice.utf8))
        #expect(Array(bytes[61...]) == [0xDE, 0xAD])
        // SHA-256 of the owner id, so the id itself never appears in a file name.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/.owners") == [Self.aliceHash])
        #expect(try indexLines(Self.aliceHash, in: directory) == [record.key.hex])
        #expect(try await store.load(record.key)?.record.owner == Self.alice)
    }

    /// A file written by the version of the store before the owner index
    /// (format version 1, no owner field), produced independently of the store.
    @Test func formatOneFileIsStillReadable() async throws {
        let directory = try StoreTestDirectory()
        defer { directory.remove() }
        let store = try FileStore(directory: directory.path)
        let key = try #require(SessionKey(hex: String(repeating: "5e", count: 32)))
        try Data(Self.formatOneFile).write(to: URL(fileURLWithPath: sessionPath(key, in: directory)))

        let loaded = try #require(try await store.load(key))

        #expect(loaded.record.data == Array("{\"user\":42}".utf8))
        #expect(loaded.version == SessionVersion(7))
        #expect(loaded.record.expiresAt == Date(timeIntervalSince1970: 4_102_444_800.5))
        #expect(loaded.record.owner == nil)
        #expect(try store.sweepExpired() == 0)
        // A touch rewrites it in the current format, keeping data and version.
        try await store.touch(key, expiresAt: Date(timeIntervalSince1970: 4_102_444_900))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: sessionPath(key, in: directory))))
        #expect(Array(bytes[4..<8]) == [2, 0, 0, 0])
        #expect(try await store.load(key)?.record.data == loaded.record.data)
        #expect(try await store.load(key)?.version == loaded.version)
    }

    private static let alice = "alice@example.com"
    private static let aliceHash = "ff8d9819fc0e12bf0d24892e45987e249a28dce836a85cad60e28eaaa8c6d976"
    /// Version 7 of `{"user":42}`, expiring at 2100-01-01T00:00:00.5Z, as format version 1 wrote it.
    private static let formatOneFile: [UInt8] = hexBytes(
        "534b5346010000000700000000000000f4d9c32cbb0300000b00000000000000"
            + "01c86b2bb7463e7d" + "7b2275736572223a34327d"
    )

    private static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    private func indexLines(_ ownerHash: String, in directory: StoreTestDirectory) throws -> [String] {
        let text = try String(contentsOfFile: directory.path + "/.owners/" + ownerHash, encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
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
        case impossibleOwnerLength
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
            case .unknownFormatVersion: bytes[4] = 3
            case .impossibleOwnerLength: bytes[32] = 0xFE
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

extension FileStoreTests {
    @Suite struct OwnerIndexTests {
        private func owned(_ owner: String?, expiresAt: Date = Date() + 600) -> SessionRecord {
            SessionRecord(key: SessionToken.generate().key, data: [7], expiresAt: expiresAt, owner: owner)
        }

        private func create(_ record: SessionRecord, in store: FileStore) async throws -> SessionVersion {
            let result = try await store.save(record, expecting: nil)
            guard case .saved(let version) = result else { throw UnexpectedConflict() }
            return version
        }

        private func listed(_ owner: String, in store: FileStore) async throws -> Set<SessionKey> {
            Set(try await store.sessions(of: owner).map(\.record.key))
        }

        /// The names of the owner index files.
        private func indexFiles(in directory: StoreTestDirectory) throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/.owners"))
        }

        private func indexedKeys(_ name: String, in directory: StoreTestDirectory) throws -> Set<String> {
            let text = try String(contentsOfFile: directory.path + "/.owners/" + name, encoding: .utf8)
            return Set(text.split(separator: "\n").map(String.init))
        }

        @Test func ownerMovesOnSaveAndAnEmptiedIndexIsRemoved() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let store = try FileStore(directory: directory.path)
            var record = owned("alice")
            let version = try await create(record, in: store)
            let aliceIndex = try #require(try indexFiles(in: directory).first)

            record.owner = "bob"
            #expect(try await store.save(record, expecting: version) == .saved(version.next))

            let files = try indexFiles(in: directory)
            #expect(files.count == 1 && !files.contains(aliceIndex))
            let bobIndex = try #require(files.first)
            #expect(try indexedKeys(bobIndex, in: directory) == [record.key.hex])
            #expect(try await listed("alice", in: store).isEmpty)
            #expect(try await listed("bob", in: store) == [record.key])
            #expect(try await store.load(record.key)?.record.owner == "bob")
        }

        @Test func touchKeepsTheOwner() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let store = try FileStore(directory: directory.path)
            let record = owned("alice")
            _ = try await create(record, in: store)

            try await store.touch(record.key, expiresAt: Date() + 1_200)

            #expect(try await store.load(record.key)?.record.owner == "alice")
            #expect(try await listed("alice", in: store) == [record.key])
        }

        @Test func deleteTakesTheKeyOutOfTheIndex() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let store = try FileStore(directory: directory.path)
            let deleted = owned("alice")
            let kept = owned("alice")
            _ = try await create(deleted, in: store)
            _ = try await create(kept, in: store)

            try await store.delete(deleted.key)

            let index = try #require(try indexFiles(in: directory).first)
            #expect(try indexedKeys(index, in: directory) == [kept.key.hex])
        }

        @Test func sweepPrunesExpiredAndMissingKeysAndRemovesEmptyIndexes() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let clock = ManualClock(now: Date())
            let store = try FileStore(directory: directory.path, clock: clock)
            let live = owned("alice", expiresAt: clock.now() + 600)
            let expiring = owned("alice", expiresAt: clock.now() + 60)
            let removedByHand = owned("alice", expiresAt: clock.now() + 600)
            let bobs = owned("bob", expiresAt: clock.now() + 60)
            for record in [live, expiring, removedByHand, bobs] { _ = try await create(record, in: store) }
            let before = try indexFiles(in: directory)
            #expect(before.count == 2)
            try FileManager.default.removeItem(atPath: directory.path + "/" + removedByHand.key.hex)
            clock.advance(by: .seconds(61))

            #expect(try store.sweepExpired() == 2)

            let after = try indexFiles(in: directory)
            #expect(after.count == 1)
            let aliceIndex = try #require(after.first)
            #expect(try indexedKeys(aliceIndex, in: directory) == [live.key.hex])
            #expect(try await listed("alice", in: store) == [live.key])
        }

        @Test func listingPrunesKeysThatNoLongerBelongToTheOwner() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let clock = ManualClock(now: Date())
            let store = try FileStore(directory: directory.path, clock: clock)
            let live = owned("alice", expiresAt: clock.now() + 600)
            let expiring = owned("alice", expiresAt: clock.now() + 60)
            _ = try await create(live, in: store)
            _ = try await create(expiring, in: store)
            clock.advance(by: .seconds(61))

            #expect(try await listed("alice", in: store) == [live.key])

            let index = try #require(try indexFiles(in: directory).first)
            #expect(try indexedKeys(index, in: directory) == [live.key.hex])
        }

        @Test func deleteSessionsCountsOnlyLiveSessionsAndRemovesTheIndex() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let clock = ManualClock(now: Date())
            let store = try FileStore(directory: directory.path, clock: clock)
            let live = owned("alice", expiresAt: clock.now() + 600)
            let expiring = owned("alice", expiresAt: clock.now() + 60)
            _ = try await create(live, in: store)
            _ = try await create(expiring, in: store)
            clock.advance(by: .seconds(61))

            #expect(try await store.deleteSessions(of: "alice", except: nil) == 1)

            #expect(try indexFiles(in: directory).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: directory.path + "/" + live.key.hex))
            #expect(!FileManager.default.fileExists(atPath: directory.path + "/" + expiring.key.hex))
        }

        @Test(arguments: ["garbage\n", String(repeating: "a", count: 64), String(repeating: "A", count: 64) + "\n"])
        func corruptIndexIsReadAsEmptyAndRebuiltByTheNextSave(_ contents: String) async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let store = try FileStore(directory: directory.path)
            var first = owned("alice")
            let firstVersion = try await create(first, in: store)
            let index = try #require(try indexFiles(in: directory).first)
            try Data(contents.utf8).write(to: URL(fileURLWithPath: directory.path + "/.owners/" + index))

            #expect(try await listed("alice", in: store).isEmpty)
            #expect(try await store.deleteSessions(of: "alice", except: nil) == 0)

            let second = owned("alice")
            _ = try await create(second, in: store)
            #expect(try indexedKeys(index, in: directory) == [second.key.hex])
            #expect(try await listed("alice", in: store) == [second.key])

            first.data = [8]
            _ = try await store.save(first, expecting: firstVersion)
            #expect(try await listed("alice", in: store) == [first.key, second.key])
        }

        @Test func sweepRemovesACorruptIndex() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let store = try FileStore(directory: directory.path)
            let record = owned("alice")
            _ = try await create(record, in: store)
            let index = try #require(try indexFiles(in: directory).first)
            try Data("garbage".utf8).write(to: URL(fileURLWithPath: directory.path + "/.owners/" + index))

            #expect(try store.sweepExpired() == 0)

            #expect(try indexFiles(in: directory).isEmpty)
            #expect(try await store.load(record.key) != nil)
        }

        /// An index listing a key whose file names another owner (left by a crash
        /// between two index updates) must not let that owner's session be listed or deleted.
        @Test func aStaleIndexEntryNeverReachesAnotherOwnersSession() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let store = try FileStore(directory: directory.path)
            let alices = owned("alice")
            let bobs = owned("bob")
            _ = try await create(alices, in: store)
            _ = try await create(bobs, in: store)
            let aliceIndex = try #require(try indexFiles(in: directory).first { try indexedKeys($0, in: directory) == [alices.key.hex] })
            try Data((alices.key.hex + "\n" + bobs.key.hex + "\n").utf8)
                .write(to: URL(fileURLWithPath: directory.path + "/.owners/" + aliceIndex))

            #expect(try await listed("alice", in: store) == [alices.key])
            #expect(try await store.deleteSessions(of: "alice", except: nil) == 1)
            #expect(try await store.load(bobs.key) != nil)
            #expect(try await listed("bob", in: store) == [bobs.key])
        }

        /// Two stores on one directory (two processes) create sessions of one
        /// owner at once: the owner's lock keeps every key in the index.
        @Test func concurrentSavesFromTwoStoresKeepEveryKeyInTheIndex() async throws {
            let directory = try StoreTestDirectory()
            defer { directory.remove() }
            let stores = [try FileStore(directory: directory.path), try FileStore(directory: directory.path)]
            let records = (0..<40).map { _ in owned("alice") }

            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, record) in records.enumerated() {
                    group.addTask { _ = try await stores[index % 2].save(record, expecting: nil) }
                }
                try await group.waitForAll()
            }

            #expect(try await listed("alice", in: stores[0]) == Set(records.map(\.key)))
        }
    }
}

private struct UnexpectedConflict: Error {}

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
