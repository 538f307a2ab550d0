// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "session-kit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "SessionKit", targets: ["SessionKit"]),
        .library(name: "SessionKitHummingbird", targets: ["SessionKitHummingbird"]),
        .library(name: "SessionKitVapor", targets: ["SessionKitVapor"]),
        .library(name: "SessionKitRedis", targets: ["SessionKitRedis"]),
        .library(name: "SessionKitSQLite", targets: ["SessionKitSQLite"]),
        .library(name: "SessionKitPostgres", targets: ["SessionKitPostgres"]),
        .library(name: "SessionKitConformance", targets: ["SessionKitConformance"]),
        .executable(name: "session-demo", targets: ["session-demo"]),
        .executable(name: "session-demo-vapor", targets: ["session-demo-vapor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        // The demos' `GET /metrics` (METRICS=prometheus); not a dependency of any library product.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Property tests only.
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
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitSQLite",
            dependencies: [
                "SessionKit",
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitPostgres",
            dependencies: [
                "SessionKit",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
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
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SessionKitVapor",
            dependencies: [
                "SessionKit",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // What both demos share and no framework needs: settings, the store factory,
        // the JSON shapes and the HTML page. Not a product.
        .target(
            name: "SessionDemoSupport",
            dependencies: [
                "SessionKit",
                "SessionKitSQLite",
                "SessionKitPostgres",
                "SessionKitRedis",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // The demo app as a library, so tests drive it through Hummingbird's test client.
        .target(
            name: "SessionDemoApp",
            dependencies: [
                "SessionKit",
                "SessionDemoSupport",
                "SessionKitHummingbird",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "session-demo",
            dependencies: [
                "SessionDemoApp",
                "SessionDemoSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Vapor demo as a library, so tests drive it through VaporTesting.
        .target(
            name: "SessionDemoVaporApp",
            dependencies: [
                "SessionKit",
                "SessionKitVapor",
                "SessionDemoSupport",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "session-demo-vapor",
            dependencies: [
                "SessionDemoVaporApp",
                "SessionDemoSupport",
                .product(name: "Vapor", package: "vapor"),
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
            name: "SessionKitRedisTests",
            dependencies: [
                .product(name: "PropertyBased", package: "swift-property-based"),
                "SessionKit",
                "SessionKitRedis",
                "SessionKitConformance",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
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
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
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
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionKitHummingbirdTests",
            dependencies: [
                "SessionKit",
                "SessionKitHummingbird",
                "SessionDemoApp",
                "SessionDemoSupport",
                "SessionKitConformance",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SessionKitVaporTests",
            dependencies: [
                "SessionKit",
                "SessionKitVapor",
                "SessionDemoVaporApp",
                "SessionDemoSupport",
                "SessionKitConformance",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "VaporTesting", package: "vapor"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
