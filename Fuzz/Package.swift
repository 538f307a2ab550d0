// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for SessionKit's parsers and decoders, in a package of their
// own: a fuzz target is an executable whose `main` is libFuzzer's driver, built
// with `-sanitize=fuzzer,address -parse-as-library`, which the root package's
// normal build cannot be. Build and run them from the repository root:
//
//     scripts/fuzz                  # every target, 1,000,000 runs each
//     scripts/fuzz CookieHeader 5000
//
// Only SessionKit and SessionKitRedis (and what they use) are built from the
// root package. The targets reach internal parsers with `@testable import`, and
// `scripts/fuzz` builds with `-enable-testing`: unlike `@_spi` entry points this
// needs no fuzzing-only API in the library, and it builds the same way in debug
// and release.

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The fuzz targets: `scripts/fuzz NAME` runs the executable `FuzzNAME` on `Corpus/NAME`.
let targets = [
    "CookieHeader",
    "SessionCookie",
    "CSRFToken",
    "RESPReply",
    "RedisRecord",
    "SessionPayload",
    "FileRecord",
    "SealedCookie",
]

let package = Package(
    name: "session-kit-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The package under test, named so product references do not depend on the clone's folder name.
        .package(name: "session-kit", path: "..", traits: ["Redis"]),
        // Already in the root package's graph; named here for ByteBuffer (RESP), SHA-256 and a quiet logger.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        // Invariant checks and a reference base64url decoder the targets share.
        .target(
            name: "FuzzSupport",
            swiftSettings: swiftSettings
        )
    ]
        + targets.map { name in
            .executableTarget(
                name: "Fuzz\(name)",
                dependencies: [
                    "FuzzSupport",
                    .product(name: "SessionKit", package: "session-kit"),
                    .product(name: "SessionKitRedis", package: "session-kit"),
                    .product(name: "NIOCore", package: "swift-nio"),
                    .product(name: "Crypto", package: "swift-crypto"),
                    .product(name: "Logging", package: "swift-log"),
                ],
                swiftSettings: swiftSettings
            )
        }
)
