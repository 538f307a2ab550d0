// swift-tools-version:6.1
import PackageDescription

// SessionKit's benchmarks, in a package of their own so that apps depending on
// SessionKit never resolve ordo-one/benchmark, Vapor's sessions or the HTTP
// servers below. Build and run from the repository root:
//
//     swift package --package-path Benchmarks benchmark
//     Benchmarks/http/run
//
// See Benchmarks/README.md for what each part measures.

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "session-kit-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The package under test, named so product references do not depend on the clone's folder name.
        .package(name: "session-kit", path: "..", traits: ["Hummingbird", "Vapor", "SQLite", "Postgres", "Redis"]),
        // Only the malloc interposer: the default "RuntimeInterposer" trait needs a
        // package that is not available here, and the ARC metrics it serves are not used.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // Micro benchmarks (ordo-one/benchmark discovers executables in a folder named Benchmarks).
        .executableTarget(
            name: "SessionKitBenchmarks",
            dependencies: [
                "CBenchmarkSupport",
                .product(name: "SessionKit", package: "session-kit"),
                .product(name: "SessionKitConformance", package: "session-kit"),
                .product(name: "SessionKitRedis", package: "session-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "SessionKitBenchmarks",
            swiftSettings: swiftSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Whether this machine lets a process count its own instructions; glibc's heap statistics.
        .target(name: "CBenchmarkSupport", path: "Support/CBenchmarkSupport"),
        // What a memory-store session costs beyond its data, in a process without the interposer.
        .executableTarget(
            name: "session-memory",
            dependencies: ["CBenchmarkSupport", .product(name: "SessionKit", package: "session-kit")],
            path: "Support/session-memory",
            swiftSettings: swiftSettings
        ),
        // The HTTP harness's servers; `Benchmarks/http/run` starts one process per variant.
        .target(
            name: "BenchServerSupport",
            dependencies: [.product(name: "CoreMetrics", package: "swift-metrics")],
            path: "http/BenchServerSupport",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bench-hummingbird",
            dependencies: [
                "BenchServerSupport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SessionKit", package: "session-kit"),
                .product(name: "SessionKitHummingbird", package: "session-kit"),
                .product(name: "SessionKitRedis", package: "session-kit"),
                .product(name: "SessionKitSQLite", package: "session-kit"),
                .product(name: "SessionKitPostgres", package: "session-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "http/bench-hummingbird",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "bench-vapor",
            dependencies: [
                "BenchServerSupport",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SessionKit", package: "session-kit"),
                .product(name: "SessionKitVapor", package: "session-kit"),
                .product(name: "Vapor", package: "vapor"),
            ],
            path: "http/bench-vapor",
            swiftSettings: swiftSettings
        ),
    ]
)
