// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "orderflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "orderflow", targets: ["orderflow"]),
        .library(name: "PostgresClient", targets: ["PostgresClient"]),
        .library(name: "PostgresTestSupport", targets: ["PostgresTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        .systemLibrary(
            name: "CLibDeflate",
            pkgConfig: "libdeflate",
            providers: [.apt(["libdeflate-dev"]), .brew(["libdeflate"])]
        ),
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),
        .target(name: "EmbeddedPostgres", dependencies: ["PostgresClient"]),
        .target(name: "OrderModel"),
        .target(name: "OrderStore", dependencies: ["OrderModel", "PostgresClient"]),
        .target(name: "Feeds", dependencies: ["CZlib", "OrderModel"]),
        .target(name: "Pipeline", dependencies: [
            "Feeds", "OrderStore", "OrderModel", "PostgresClient",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Reports", dependencies: ["Pipeline", "Feeds", "OrderModel", "PostgresClient", "CLibDeflate"]),
        .target(name: "OrderAPI", dependencies: [
            "OrderModel", "OrderStore", "PostgresClient", "Feeds", "Pipeline",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PostgresTestSupport", dependencies: ["EmbeddedPostgres", "PostgresClient", "OrderStore"]),
        .executableTarget(name: "orderflow", dependencies: [
            "PostgresClient", "EmbeddedPostgres", "OrderModel", "OrderStore", "Feeds", "Pipeline", "Reports", "OrderAPI",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Fuzz targets (docs/fuzzing.md): libFuzzer with -DFUZZING, else a corpus replayer.
        .executableTarget(name: "orderflow-fuzz", dependencies: ["Feeds", "Pipeline", "OrderModel"]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "PostgresTestSupport"]),
        .testTarget(name: "EmbeddedPostgresTests", dependencies: ["EmbeddedPostgres", "PostgresClient"]),
        .testTarget(name: "OrderModelTests", dependencies: ["OrderModel"]),
        .testTarget(name: "OrderStoreTests", dependencies: ["OrderStore", "OrderModel", "PostgresClient", "PostgresTestSupport"]),
        .testTarget(name: "FeedsTests", dependencies: ["Feeds", "CZlib"]),
        .testTarget(name: "ExportTests", dependencies: ["Reports", "Pipeline", "Feeds", "OrderModel", "PostgresClient", "PostgresTestSupport", "CZlib"]),
        .testTarget(name: "OrderAPITests", dependencies: [
            "OrderAPI", "OrderStore", "OrderModel", "PostgresClient", "PostgresTestSupport", "Pipeline",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Reports", "Feeds", "OrderStore", "PostgresClient", "PostgresTestSupport", "EmbeddedPostgres"]),
    ],
    swiftLanguageModes: [.v6]
)
