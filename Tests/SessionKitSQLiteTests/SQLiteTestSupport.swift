#if SQLite
import Foundation
import SQLiteNIO
import SessionKit
import SessionKitSQLite

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh directory under the system's temporary directory holding one database path.
struct TemporaryDatabase: Sendable {
    let directory: String

    init() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("sessionkit-sqlite-tests-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// The database file's path (the file itself may not exist yet).
    var path: String { directory + "/sessions.sqlite" }

    /// Removes the directory, restoring permissions a test may have taken away.
    func remove() {
        _ = chmod(directory, 0o700)
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Whether the tests run as root, whom file permissions do not stop.
let isRoot = geteuid() == 0

/// Runs `body` with a fresh temporary database path and removes it afterwards.
func withTemporaryDatabase<Result>(_ body: (TemporaryDatabase) async throws -> Result) async throws -> Result {
    let database = try TemporaryDatabase()
    defer { database.remove() }
    return try await body(database)
}

/// Runs `body` with `store`, then closes the store whether `body` threw or not.
func using<Result>(_ store: SQLiteStore, _ body: (SQLiteStore) async throws -> Result) async throws -> Result {
    let result: Result
    do {
        result = try await body(store)
    } catch {
        try? await store.close()
        throw error
    }
    try await store.close()
    return result
}

/// Runs `body` with a plain sqlite-nio connection to `path`, standing in for
/// another process or a person inspecting the file, and closes it afterwards.
func withRawConnection<Result>(_ path: String, _ body: (SQLiteConnection) async throws -> Result) async throws -> Result {
    let connection = try await SQLiteConnection.open(storage: .file(path: path))
    let result: Result
    do {
        _ = try await connection.query("PRAGMA busy_timeout = 5000")
        result = try await body(connection)
    } catch {
        try? await connection.close()
        throw error
    }
    try await connection.close()
    return result
}

/// A record under a fresh key that expires `seconds` after `now`.
func record(_ data: [UInt8], expiringIn seconds: TimeInterval = 600, from now: Date = Date()) -> SessionRecord {
    SessionRecord(key: SessionToken.generate().key, data: data, expiresAt: now + seconds)
}
#endif  // SQLite
