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
        BadURL(url: "rediss-sentinel://:topsecret@h:1", phrase: "master's name"),
        BadURL(url: "rediss://:topsecret@a:1,b:2", phrase: "one host"),
        BadURL(url: "redis-sentinel://:topsecret@a:1,b:2", phrase: "master's name"),
        BadURL(url: "redis-sentinel://:topsecret@a:1,b:2/", phrase: "master's name"),
        BadURL(url: "redis-sentinel://:topsecret@a:1/m/2", phrase: "?db=N"),
        BadURL(url: "redis-sentinel://:topsecret@a:1,,b:2/m", phrase: "empty one"),
        BadURL(url: "redis-sentinel://:topsecret@a:1/m?db=x", phrase: "db must be"),
        BadURL(url: "redis-sentinel://a:1/m?sentinelPassword=top%zzsecret", phrase: "sentinelPassword has a %"),
        BadURL(url: "redis-sentinel://:topsecret@a:1/m?timeout=1", phrase: "timeout is not supported"),
        BadURL(url: "redis-cluster://:topsecret@a:1,b:2/3", phrase: "only database 0"),
        BadURL(url: "redis-cluster://:topsecret@a:1?db=1", phrase: "query parameter db"),
        BadURL(url: "redis-cluster://:topsecret@a:1?wait=-1", phrase: "wait must be"),
        BadURL(url: "redis://:topsecret@h?wait=x", phrase: "wait must be"),
        BadURL(url: "redis://:topsecret@h#x", phrase: "fragments"),
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
        BadURL(url: "redis://:topsecret@h?db=1", phrase: "query parameter db"),
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

    @Test func redissURLTurnsOnTLSWithTheSystemTrustStore() throws {
        let configuration = try RedisStore.Configuration(url: "rediss://app:secret@cache.internal:6380/2?wait=1")
        #expect(configuration.tls == RedisStore.TLS(trustRoots: .system))
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.database == 2)
        #expect(configuration.username == "app")
        #expect(configuration.minimumReplicaAcknowledgements == 1)
        #expect(configuration.topology == .standalone)
        #expect(try RedisStore.Configuration(url: "redis://h").tls == nil)
    }

    @Test func sentinelURLNamesTheSentinelsTheMasterAndTheDatabase() throws {
        let configuration = try RedisStore.Configuration(
            url: "redis-sentinel://app:p%40ss@sentinel-a.example:26380,[::1],s3/my%20master?db=4&wait=2"
                + "&sentinelUsername=watcher&sentinelPassword=s%26cret"
        )
        #expect(
            configuration.topology
                == .sentinel(
                    masterName: "my master",
                    sentinels: [.init(host: "sentinel-a.example", port: 26_380), .init(host: "::1", port: 26_379), .init(host: "s3", port: 26_379)]
                )
        )
        #expect(configuration.username == "app")
        #expect(configuration.password == "p@ss")
        #expect(configuration.database == 4)
        #expect(configuration.minimumReplicaAcknowledgements == 2)
        #expect(configuration.sentinelUsername == "watcher")
        #expect(configuration.sentinelPassword == "s&cret")
        #expect(configuration.tls == nil)
        #expect(!configuration.description.contains("p@ss") && !configuration.description.contains("s&cret"))
        #expect(configuration.description.hasPrefix("redis-sentinel://app:***@sentinel-a.example:26380,[::1]:26379,s3:26379/my master?db=4"))
    }

    @Test func clusterURLListsTheSeedNodes() throws {
        let configuration = try RedisStore.Configuration(url: "redis-cluster://:secret@a:7000,b,[::1]:7002/0")
        #expect(configuration.topology == .cluster(seeds: [.init(host: "a", port: 7000), .init(host: "b", port: 6379), .init(host: "::1", port: 7002)]))
        #expect(configuration.password == "secret")
        #expect(configuration.database == 0)
        #expect(configuration.tls == nil)
        let secure = try RedisStore.Configuration(url: "rediss-cluster://a:7000,b:7001")
        #expect(secure.tls == RedisStore.TLS())
        #expect(secure.topology == .cluster(seeds: [.init(host: "a", port: 7000), .init(host: "b", port: 7001)]))
        #expect(secure.minimumReplicaAcknowledgements == 0)
        let waiting = try RedisStore.Configuration(url: "redis-cluster://a:7000,b:7001?wait=2")
        #expect(waiting.minimumReplicaAcknowledgements == 2)
        #expect(waiting.description.contains("minimumReplicaAcknowledgements: 2"))
    }

    @Test func badTLSAndSentinelSettingsAreRefusedAtStartUp() {
        func configuration(_ change: (inout RedisStore.Configuration) -> Void) -> RedisStore.Configuration {
            var configuration = RedisStore.Configuration()
            change(&configuration)
            return configuration
        }
        let missing = "/nonexistent/sessionkit-\(UUID().uuidString).pem"
        let cases: [(RedisStore.Configuration, String)] = [
            (configuration { $0.tls = .init(trustRoots: .caFile(missing)) }, "RedisStore.tls.trustRoots"),
            (configuration { $0.tls = .init(trustRoots: .caPEM("not a certificate")) }, "RedisStore.tls.trustRoots"),
            (configuration { $0.tls = .init(certificateFile: missing) }, "RedisStore.tls.privateKeyFile"),
            (configuration { $0.tls = .init(privateKeyFile: missing) }, "RedisStore.tls.certificateFile"),
            (configuration { $0.tls = .init(certificateFile: missing, privateKeyFile: missing) }, "RedisStore.tls.certificateFile"),
            (configuration { $0.tls = .init(serverName: "127.0.0.1") }, "RedisStore.tls.serverName"),
            (configuration { $0.minimumReplicaAcknowledgements = -1 }, "RedisStore.minimumReplicaAcknowledgements"),
            (
                configuration {
                    $0.minimumReplicaAcknowledgements = 1
                    $0.replicaAcknowledgementTimeout = .seconds(5)
                }, "RedisStore.replicaAcknowledgementTimeout"
            ),
            (configuration { $0.topology = .sentinel(masterName: "", sentinels: [.init(host: "h", port: 1)]) }, "RedisStore.topology"),
            (configuration { $0.topology = .sentinel(masterName: "m", sentinels: []) }, "RedisStore.topology"),
            (
                configuration {
                    $0.topology = .sentinel(masterName: "m", sentinels: [.init(host: "h", port: 1)])
                    $0.tls = .init(trustRoots: .caFile(missing))
                }, "RedisStore.tls.trustRoots"
            ),
        ]
        for (configuration, setting) in cases {
            let error = #expect(throws: SessionConfigurationError.self) { try RedisStore(configuration: configuration) }
            #expect(error?.setting == setting, "\(configuration)")
        }
    }

    @Test func tlsSentinelURLReachesTheSentinelsAndTheMasterOverTLS() async throws {
        let configuration = try RedisStore.Configuration(url: "rediss-sentinel://:secret@s1:26380,s2/sessions?db=2&wait=1")
        #expect(configuration.tls == RedisStore.TLS())
        #expect(configuration.topology == .sentinel(masterName: "sessions", sentinels: [.init(host: "s1", port: 26380), .init(host: "s2", port: 26379)]))
        #expect(configuration.database == 2)
        #expect(configuration.minimumReplicaAcknowledgements == 1)
        #expect(configuration.description.hasPrefix("rediss-sentinel://:***@s1:26380,s2:26379/sessions?db=2"))
        // Accepted at start-up: TLS with Sentinel is not refused any more.
        let store = try RedisStore(configuration: configuration)
        await store.shutdown()
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
