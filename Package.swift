// swift-tools-version:6.1
import PackageDescription

// SessionKit: server-side sessions and CSRF protection for Swift web servers.
//
// Every integration sits behind a package trait, so an app resolves only what it uses.
// With the default traits (none) a consumer gets the engine and its three built-in
// stores (memory, file, encrypted cookie) and resolves swift-crypto, swift-log,
// swift-metrics and swift-distributed-tracing (and what those need) — no web framework,
// no database client. Turn on what the app uses:
//
//     .package(url: "https://github.com/sessionkit/session-kit.git", from: "0.1.0",
//              traits: ["Hummingbird", "SQLite"])
//
// A product whose trait is off compiles to an empty module. The demos, and the tests
// that need a web framework, live in the `Examples/` package; the benchmarks in
// `Benchmarks/`, the fuzz targets in `Fuzz/`. Contributors build and test everything
// with `--enable-all-traits` (what `scripts/test` does).

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// Traits that need SwiftNIO: every store client and both frameworks.
let nioTraits: Set<String> = ["Hummingbird", "HummingbirdAuth", "Vapor", "SQLite", "Postgres", "Redis"]

let package = Package(
    name: "session-kit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SessionKit", targets: ["SessionKit"]),
        .library(name: "SessionKitHummingbird", targets: ["SessionKitHummingbird"]),
        .library(name: "SessionKitHummingbirdAuth", targets: ["SessionKitHummingbirdAuth"]),
        .library(name: "SessionKitVapor", targets: ["SessionKitVapor"]),
        .library(name: "SessionKitRedis", targets: ["SessionKitRedis"]),
        .library(name: "SessionKitSQLite", targets: ["SessionKitSQLite"]),
        .library(name: "SessionKitPostgres", targets: ["SessionKitPostgres"]),
        .library(name: "SessionKitConformance", targets: ["SessionKitConformance"]),
        .library(name: "SessionKitStores", targets: ["SessionKitStores"]),
    ],
    traits: [
        .trait(
            name: "Hummingbird",
            description: "SessionKitHummingbird: the middleware and request context for Hummingbird 2."
        ),
        .trait(
            name: "HummingbirdAuth",
            description: "SessionKitHummingbirdAuth: sign-in through hummingbird-auth's AuthRequestContext (turns on Hummingbird).",
            enabledTraits: ["Hummingbird"]
        ),
        .trait(
            name: "Vapor",
            description: "SessionKitVapor: the middleware, req.sessionKit and app.sessionKit for Vapor 4."
        ),
        .trait(name: "SQLite", description: "SessionKitSQLite: SQLiteStore on vapor/sqlite-nio."),
        .trait(name: "Postgres", description: "SessionKitPostgres: PostgresStore on vapor/postgres-nio."),
        .trait(name: "Redis", description: "SessionKitRedis: RedisStore and its RESP client on SwiftNIO."),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // Behind traits: resolved by a consumer only when one of its traits is on.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Property tests only (test targets: never resolved by a consumer).
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        .target(
            name: "SessionKit",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitRedis",
            dependencies: [
                "SessionKit",
                // Insecure.SHA1 names a script for EVALSHA; SHA-256 hashes owner ids for the owner sets.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Redis"])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["Redis"])),
                // TLS to Redis (`rediss://`, `RedisStore.TLS`).
                .product(name: "NIOSSL", package: "swift-nio-ssl", condition: .when(traits: ["Redis"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitSQLite",
            dependencies: [
                "SessionKit",
                .product(name: "SQLiteNIO", package: "sqlite-nio", condition: .when(traits: ["SQLite"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["SQLite"])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["SQLite"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitPostgres",
            dependencies: [
                "SessionKit",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Postgres"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A store from one URL (`SessionStoreDriver(url:)`), for the stores whose traits are on.
        .target(
            name: "SessionKitStores",
            dependencies: [
                "SessionKit",
                .target(name: "SessionKitSQLite", condition: .when(traits: ["SQLite"])),
                .target(name: "SessionKitPostgres", condition: .when(traits: ["Postgres"])),
                .target(name: "SessionKitRedis", condition: .when(traits: ["Redis"])),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitConformance",
            dependencies: ["SessionKit"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitHummingbird",
            dependencies: [
                "SessionKit",
                "SessionKitStores",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["Hummingbird"])),
                .product(name: "HTTPTypes", package: "swift-http-types", condition: .when(traits: ["Hummingbird"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Hummingbird"])),
                .product(
                    name: "ServiceLifecycle",
                    package: "swift-service-lifecycle",
                    condition: .when(traits: ["Hummingbird"])
                ),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitHummingbirdAuth",
            dependencies: [
                "SessionKit",
                "SessionKitHummingbird",
                .product(name: "Hummingbird", package: "hummingbird", condition: .when(traits: ["HummingbirdAuth"])),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth", condition: .when(traits: ["HummingbirdAuth"])),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitVapor",
            dependencies: [
                "SessionKit",
                "SessionKitStores",
                .product(name: "Vapor", package: "vapor", condition: .when(traits: ["Vapor"])),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Vapor"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionKitTests",
            dependencies: [
                .product(name: "PropertyBased", package: "swift-property-based"),
                "SessionKit",
                "SessionKitConformance",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionKitStoresTests",
            dependencies: [
                "SessionKit",
                "SessionKitStores",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionKitRedisTests",
            dependencies: [
                .product(name: "PropertyBased", package: "swift-property-based"),
                "SessionKit",
                "SessionKitRedis",
                "SessionKitConformance",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio", condition: .when(traits: ["Redis"])),
                .product(name: "NIOEmbedded", package: "swift-nio", condition: .when(traits: ["Redis"])),
                .product(name: "NIOPosix", package: "swift-nio", condition: .when(traits: ["Redis"])),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionKitSQLiteTests",
            dependencies: [
                .product(name: "PropertyBased", package: "swift-property-based"),
                "SessionKit",
                "SessionKitSQLite",
                "SessionKitConformance",
                .product(name: "SQLiteNIO", package: "sqlite-nio", condition: .when(traits: ["SQLite"])),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionKitPostgresTests",
            dependencies: [
                .product(name: "PropertyBased", package: "swift-property-based"),
                "SessionKit",
                "SessionKitPostgres",
                "SessionKitConformance",
                .product(name: "PostgresNIO", package: "postgres-nio", condition: .when(traits: ["Postgres"])),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// The documentation build (`scripts/check-docs`) adds swift-docc-plugin; apps that depend
// on SessionKit never resolve it.
if Context.environment["SESSIONKIT_DOCS"] != nil {
    package.dependencies.append(
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0")
    )
}
