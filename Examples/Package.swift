// swift-tools-version:6.1
import PackageDescription

// SessionKit's demos and the tests that need a web framework, in a package of their own
// so that apps depending on SessionKit never resolve the demos' dependencies (Prometheus,
// both frameworks at once). From the repository root:
//
//     swift run --package-path Examples session-demo         # Hummingbird, http://127.0.0.1:8080
//     swift run --package-path Examples session-demo-vapor   # Vapor, same routes and variables
//
// It depends on the checkout with every trait on, exactly as an app would with the traits
// it uses. `scripts/test` builds it into the root's build folder (`--scratch-path .build`),
// so the dependencies both packages share are compiled once.

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "session-kit-examples",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "session-demo", targets: ["session-demo"]),
        .executable(name: "session-demo-vapor", targets: ["session-demo-vapor"]),
    ],
    dependencies: [
        // The package the demos show, named so product references do not depend on the clone's folder name.
        .package(name: "session-kit", path: "..", traits: ["Hummingbird", "HummingbirdAuth", "Vapor", "SQLite", "Postgres", "Redis"]),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        // The demos' `GET /metrics` (METRICS=prometheus).
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // What both demos share and no framework needs: settings, the store factory,
        // the JSON shapes and the HTML page.
        .target(
            name: "SessionDemoSupport",
            dependencies: [
                .product(name: "SessionKit", package: "session-kit"),
                .product(name: "SessionKitSQLite", package: "session-kit"),
                .product(name: "SessionKitPostgres", package: "session-kit"),
                .product(name: "SessionKitRedis", package: "session-kit"),
                .product(name: "SessionKitStores", package: "session-kit"),
                // SHA-256 of the pages' inline script and style, for their Content-Security-Policy.
                .product(name: "Crypto", package: "swift-crypto"),
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
                "SessionDemoSupport",
                .product(name: "SessionKit", package: "session-kit"),
                .product(name: "SessionKitHummingbird", package: "session-kit"),
                .product(name: "SessionKitHummingbirdAuth", package: "session-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
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
                "SessionDemoSupport",
                .product(name: "SessionKit", package: "session-kit"),
                .product(name: "SessionKitVapor", package: "session-kit"),
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
        // The Hummingbird adapter's tests and the demo's JSON API through Hummingbird's test client.
        .testTarget(
            name: "SessionKitHummingbirdTests",
            dependencies: [
                "SessionDemoApp",
                "SessionDemoSupport",
                .product(name: "SessionKit", package: "session-kit"),
                .product(name: "SessionKitHummingbird", package: "session-kit"),
                .product(name: "SessionKitHummingbirdAuth", package: "session-kit"),
                .product(name: "SessionKitConformance", package: "session-kit"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The Vapor adapter's tests and the Vapor demo through VaporTesting.
        .testTarget(
            name: "SessionKitVaporTests",
            dependencies: [
                "SessionDemoVaporApp",
                "SessionDemoSupport",
                .product(name: "SessionKit", package: "session-kit"),
                .product(name: "SessionKitVapor", package: "session-kit"),
                .product(name: "SessionKitConformance", package: "session-kit"),
                .product(name: "Vapor", package: "vapor"),
                .product(name: "VaporTesting", package: "vapor"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // MigratedVaporApp.swift is a link to the snippet of the migration article, which
            // compiles under `#if Vapor` as the root package's snippets do; this package turns
            // the Vapor trait on, so the tests compile it the same way.
            swiftSettings: swiftSettings + [.define("Vapor")]
        ),
    ]
)
