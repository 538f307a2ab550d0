#if Redis
import Foundation
import SessionKit
import Testing

@testable import SessionKitRedis

/// A URL and the settings it must give.
struct GoodURL: Sendable, CustomTestStringConvertible {
    let url: String
    let host: String
    let port: Int
    let username: String?
    let password: String?
    let database: Int

    var testDescription: String { url }

    static let all: [GoodURL] = [
        GoodURL(url: "redis://localhost", host: "localhost", port: 6379, username: nil, password: nil, database: 0),
        GoodURL(url: "redis://127.0.0.1:6390", host: "127.0.0.1", port: 6390, username: nil, password: nil, database: 0),
        GoodURL(url: "REDIS://cache.internal:7000/3", host: "cache.internal", port: 7000, username: nil, password: nil, database: 3),
        GoodURL(url: "redis://:secret@h/0", host: "h", port: 6379, username: nil, password: "secret", database: 0),
        GoodURL(url: "redis://app:secret@h:1/15", host: "h", port: 1, username: "app", password: "secret", database: 15),
        GoodURL(url: "redis://app@h", host: "h", port: 6379, username: "app", password: nil, database: 0),
        GoodURL(url: "redis://u:p%40ss%3Aw%2Frd%25@h", host: "h", port: 6379, username: "u", password: "p@ss:w/rd%", database: 0),
        GoodURL(url: "redis://u:p@ss@h", host: "h", port: 6379, username: "u", password: "p@ss", database: 0),
        GoodURL(url: "redis://%C3%A9:%F0%9F%98%80@h", host: "h", port: 6379, username: "é", password: "😀", database: 0),
        GoodURL(url: "redis://[::1]:6380/2", host: "::1", port: 6380, username: nil, password: nil, database: 2),
        GoodURL(url: "redis://[::1]", host: "::1", port: 6379, username: nil, password: nil, database: 0),
        GoodURL(url: "redis://h/", host: "h", port: 6379, username: nil, password: nil, database: 0),
    ]
}

/// A URL that must be refused, with a phrase the reason must contain.
struct BadURL: Sendable, CustomTestStringConvertible {
    let url: String
    let phrase: String

    var testDescription: String { url }

    static let all: [BadURL] = [
        BadURL(url: "", phrase: "must be a URL"),
        BadURL(url: "localhost:6379", phrase: "must be a URL"),
        BadURL(url: "http://topsecret@h", phrase: "scheme must be redis://"),
        BadURL(url: "rediss://:topsecret@h", phrase: "TLS"),
        BadURL(url: "redis://", phrase: "no host"),
        BadURL(url: "redis://:topsecret@", phrase: "no host"),
        BadURL(url: "redis://:topsecret@:6379", phrase: "no host"),
        BadURL(url: "redis://:topsecret@h:0", phrase: "port"),
        BadURL(url: "redis://:topsecret@h:65536", phrase: "port"),
        BadURL(url: "redis://:topsecret@h:http", phrase: "port"),
        BadURL(url: "redis://:topsecret@h:", phrase: "port"),
        BadURL(url: "redis://:topsecret@h/x", phrase: "database number"),
        BadURL(url: "redis://:topsecret@h/-1", phrase: "database number"),
        BadURL(url: "redis://:topsecret@h/1/2", phrase: "database number"),
        BadURL(url: "redis://:topsecret@h?db=1", phrase: "query"),
        BadURL(url: "redis://:top%2secret@h", phrase: "password has a %"),
        BadURL(url: "redis://us%zzer:topsecret@h", phrase: "user name has a %"),
        BadURL(url: "redis://:topsecret%FF@h", phrase: "not valid UTF-8"),
        BadURL(url: "redis://:topsecret@[::1", phrase: "IPv6"),
        BadURL(url: "redis://:topsecret@[::1]x", phrase: "IPv6"),
        BadURL(url: "redis://:topsecret@a:b:6379", phrase: "host"),
        BadURL(url: "redis://:topsecret@a b", phrase: "host"),
    ]
}

@Suite struct RedisConfigurationTests {
    @Test(arguments: GoodURL.all)
    func urlGivesTheSettings(_ example: GoodURL) throws {
        let configuration = try RedisStore.Configuration(url: example.url)
        #expect(configuration.host == example.host)
        #expect(configuration.port == example.port)
        #expect(configuration.username == example.username)
        #expect(configuration.password == example.password)
        #expect(configuration.database == example.database)
        #expect(configuration.keyPrefix == "sessionkit:")
        #expect(configuration.commandTimeout == .seconds(2))
        #expect(configuration.maximumConnections == 8)
    }

    @Test(arguments: BadURL.all)
    func badURLIsRefusedWithoutShowingThePassword(_ example: BadURL) {
        let error = #expect(throws: SessionConfigurationError.self) { try RedisStore.Configuration(url: example.url) }
        #expect(error?.setting == "REDIS_URL")
        #expect(error?.reason.contains(example.phrase) == true, "reason: \(error?.reason ?? "none")")
        #expect(error?.description.contains("topsecret") == false, "the error shows the password")
    }

    @Test func descriptionHidesThePassword() throws {
        let configuration = try RedisStore.Configuration(url: "redis://app:topsecret@cache:7000/2")
        #expect(configuration.description.hasPrefix("redis://app:***@cache:7000/2"))
        #expect(!configuration.description.contains("topsecret"))
        #expect(!String(reflecting: configuration).contains("topsecret"))
    }

    @Test func invalidSettingsAreRefusedAtStartUp() {
        let cases: [(RedisStore.Configuration, String)] = [
            (.init(host: ""), "RedisStore.host"),
            (.init(port: 0), "RedisStore.port"),
            (.init(port: 70_000), "RedisStore.port"),
            (.init(database: -1), "RedisStore.database"),
            (.init(commandTimeout: .zero), "RedisStore.commandTimeout"),
            (.init(connectTimeout: .seconds(-1)), "RedisStore.connectTimeout"),
            (.init(maximumConnections: 0), "RedisStore.maximumConnections"),
        ]
        for (configuration, setting) in cases {
            let error = #expect(throws: SessionConfigurationError.self) { try RedisStore(configuration: configuration) }
            #expect(error?.setting == setting)
        }
    }

    @Test func expiryIsKeptInMilliseconds() {
        #expect(RedisStore.milliseconds(.init(timeIntervalSince1970: 1_700_000_000.1234)) == 1_700_000_000_123)
        #expect(RedisStore.milliseconds(.init(timeIntervalSince1970: 1_700_000_000.1236)) == 1_700_000_000_124)
        #expect(RedisStore.milliseconds(.init(timeIntervalSince1970: -5)) == 0)
        #expect(RedisStore.milliseconds(.distantFuture) == 64_092_211_200_000)
    }
}
#endif  // Redis
