import Foundation
import Logging
import SessionKit
@testable import SessionKitStores
import Testing

/// `SessionStoreDriver(url:)`: every scheme makes its store, every mistake is a
/// configuration error naming the setting.
@Suite struct StoreURLTests {
    private let logger = Logger(label: "sessionkit.test")

    private static func temporaryFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sessionkit-url-\(UUID().uuidString)").path
    }

    @Test(arguments: ["memory:", "MEMORY:", "memory://"])
    func memoryURLMakesAMemoryStoreWithSweeps(_ url: String) async throws {
        let driver = try SessionStoreDriver(url: url)
        let backend = try await driver.makeBackend(logger: logger)
        #expect(backend.store is MemoryStore)
        #expect(backend.hasBackgroundWork)
    }

    @Test func fileURLWithThreeSlashesMakesAFileStoreInThatAbsoluteDirectory() async throws {
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let backend = try await SessionStoreDriver(url: "file://\(folder)").makeBackend(logger: logger)
        #expect(backend.store is FileStore)
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory)
        #expect(exists && isDirectory.boolValue)
    }

    @Test(arguments: [
        ("file:///var/sessions", "/var/sessions"),
        ("file://localhost/var/sessions", "/var/sessions"),
        ("file:/var/sessions", "/var/sessions"),
        ("file:sessions", "sessions"),
        ("file:data/my%20sessions", "data/my sessions"),
        ("sqlite:///var/db/sessions.sqlite", "/var/db/sessions.sqlite"),
        ("sqlite:sessions.sqlite", "sessions.sqlite"),
    ])
    func pathOfAFileOrSQLiteURL(_ url: String, _ expected: String) throws {
        let colon = url.firstIndex(of: ":")!
        let path = try SessionStoreDriver.path(in: url[url.index(after: colon)...], scheme: String(url[..<colon]), setting: "S")
        #expect(path == expected)
    }

    @Test(arguments: ["file://example.com/var/sessions", "file:", "file://", "file:///a?b", "file:///a#b", "file:%zz", "sqlite://db.example.com/x.sqlite"])
    func badFileOrSQLiteURLIsAConfigurationErrorNamingTheSetting(_ url: String) {
        #expect {
            _ = try SessionStoreDriver(url: url, setting: "MY_STORE")
        } throws: { error in
            (error as? SessionConfigurationError)?.setting == "MY_STORE"
        }
    }

    @Test(arguments: ["", "memory", "localhost:6379", "mysql://db/x", "cookie:", "memory:x", "://x"])
    func unknownOrMalformedURLIsAConfigurationErrorNamingTheSetting(_ url: String) {
        #expect {
            _ = try SessionStoreDriver(url: url)
        } throws: { error in
            guard let error = error as? SessionConfigurationError else { return false }
            return error.setting == "SESSION_STORE_URL"
        }
    }

    @Test func unknownSchemeIsNamedWithoutTheRestOfTheURL() {
        #expect {
            _ = try SessionStoreDriver(url: "mysql://root:hunter2@db/x")
        } throws: { error in
            let reason = (error as? SessionConfigurationError)?.reason ?? ""
            return reason.contains("\"mysql:\"") && !reason.contains("hunter2")
        }
    }

    @Test func traitOffErrorNamesTheTraitToTurnOn() {
        let error = SessionStoreDriver.traitOff(scheme: "sqlite", trait: "SQLite", setting: "SESSION_STORE_URL")
        #expect(error.setting == "SESSION_STORE_URL")
        #expect(error.reason.hasPrefix("sqlite: needs the SQLite trait of SessionKit"))
    }

    @Test func sqliteURLMakesAnSQLiteStoreOrNamesTheTrait() async throws {
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        #if SQLite
            let backend = try await SessionStoreDriver(url: "sqlite://\(folder)/db/sessions.sqlite").makeBackend(logger: logger)
            #expect(backend.store?.name == "sqlite")
            #expect(backend.hasBackgroundWork)
            #expect(FileManager.default.fileExists(atPath: "\(folder)/db/sessions.sqlite"))
        #else
            #expect(throws: SessionStoreDriver.traitOff(scheme: "sqlite", trait: "SQLite", setting: "SESSION_STORE_URL")) {
                _ = try SessionStoreDriver(url: "sqlite://\(folder)/sessions.sqlite")
            }
        #endif
    }

    @Test func redisURLMakesARedisStoreOrNamesTheTrait() async throws {
        #if Redis
            // Making the store opens no connection, so no server is needed.
            let backend = try await SessionStoreDriver(url: "redis://localhost:6379/2").makeBackend(logger: logger)
            #expect(backend.store?.name == "redis")
            #expect(backend.hasBackgroundWork)
        #else
            #expect(throws: SessionStoreDriver.traitOff(scheme: "redis", trait: "Redis", setting: "SESSION_STORE_URL")) {
                _ = try SessionStoreDriver(url: "redis://localhost")
            }
        #endif
    }

    /// Every redis scheme goes to `RedisStore.Configuration(url:)`.
    @Test(arguments: [
        "rediss://localhost:6380", "redis-sentinel://localhost:26379/mymaster", "rediss-sentinel://localhost:26379/mymaster",
        "redis-cluster://localhost:7000", "rediss-cluster://localhost:7000",
    ])
    func everyRedisSchemeIsReadByTheRedisStore(_ url: String) throws {
        #if Redis
            let driver = try SessionStoreDriver(url: url)
            #expect(driver.name == "redis")
        #else
            #expect(throws: SessionConfigurationError.self) { _ = try SessionStoreDriver(url: url) }
        #endif
    }

    @Test func badRedisURLIsNamedAsTheAppsSetting() {
        #expect {
            _ = try SessionStoreDriver(url: "redis://:secret@localhost:99999", setting: "CACHE")
        } throws: { error in
            guard let error = error as? SessionConfigurationError else { return false }
            return error.setting == "CACHE" && !error.reason.contains("secret")
        }
    }

    @Test(arguments: ["postgres://app:secret@localhost:5432/app", "postgresql://app@localhost/app?sslmode=disable"])
    func postgresURLMakesAPostgresStoreOrNamesTheTrait(_ url: String) async throws {
        #if Postgres
            // Making the store opens no connection: the pool runs in the background work.
            let backend = try await SessionStoreDriver(url: url).makeBackend(logger: logger)
            #expect(backend.store?.name == "postgres")
            #expect(backend.hasBackgroundWork)
        #else
            #expect(throws: SessionStoreDriver.traitOff(scheme: "postgres", trait: "Postgres", setting: "SESSION_STORE_URL")) {
                _ = try SessionStoreDriver(url: url)
            }
        #endif
    }

    @Test func badPostgresURLIsNamedAsTheAppsSetting() {
        #expect {
            _ = try SessionStoreDriver(url: "postgres://app:secret@localhost:0/app")
        } throws: { error in
            guard let error = error as? SessionConfigurationError else { return false }
            return error.setting == "SESSION_STORE_URL" && !error.reason.contains("secret")
        }
    }
}
