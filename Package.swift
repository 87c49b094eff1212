// swift-tools-version: 6.0
// Linux only: the embedded cluster runs as `postgres` through runuser, sockets and file
// descriptors are Glibc's. docs/architecture.md is the module map; ArchitectureTests keeps the
// dependencies below equal to its table.
import PackageDescription

let package = Package(
    name: "orderflow",
    products: [
        .executable(name: "orderflow", targets: ["orderflow"]),
        .library(name: "PostgresClient", targets: ["PostgresClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CXLSXWriter", pkgConfig: "xlsxwriter", providers: [.apt(["libxlsxwriter-dev"])]),

        .target(name: "ErrorCodes"),
        .target(name: "PostgresClient", dependencies: ["CLibPQ", "ErrorCodes"]),
        .target(name: "EmbeddedPostgres", dependencies: ["PostgresClient"]),
        .target(name: "OrderModel"),
        .target(name: "OrderStore", dependencies: ["OrderModel", "PostgresClient", "ErrorCodes"]),
        .target(name: "Feeds", dependencies: [
            "CZlib", "CLibDeflate", "ErrorCodes",
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "RunSupport", dependencies: [
            "PostgresClient",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        .target(name: "DefinitionFile", dependencies: [.product(name: "Yams", package: "Yams")]),
        .target(name: "Pipeline", dependencies: [
            "Feeds", "OrderStore", "OrderModel", "PostgresClient", "RunSupport", "DefinitionFile", "ErrorCodes",
        ]),
        .target(name: "Export", dependencies: [
            "Feeds", "OrderModel", "OrderStore", "PostgresClient", "RunSupport", "DefinitionFile", "ErrorCodes", "CXLSXWriter",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Reports", dependencies: [
            "Pipeline", "Export", "Feeds", "RunSupport",
            .product(name: "Mustache", package: "swift-mustache"),
        ], resources: [.embedInCode("Templates")]),
        .target(name: "SyntheticFeeds", dependencies: ["Feeds", "OrderModel"]),
        .target(name: "OrderAPI", dependencies: [
            "OrderModel", "OrderStore", "PostgresClient", "Feeds", "RunSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], resources: [.embedInCode("openapi.yaml")]),
        .target(name: "Notifications", dependencies: [
            "DefinitionFile",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Console", dependencies: [
            "OrderAPI", "Reports", "Pipeline", "Export", "OrderStore", "OrderModel", "PostgresClient", "RunSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Mustache", package: "swift-mustache"),
        ], resources: [.embedInCode("Templates")]),
        .target(name: "Monitoring", dependencies: ["Feeds", .product(name: "Logging", package: "swift-log")]),
        .target(name: "OrderflowTestSupport", dependencies: [
            "EmbeddedPostgres", "PostgresClient", "OrderStore", "Feeds", "RunSupport", "CZlib",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .executableTarget(name: "orderflow", dependencies: [
            "PostgresClient", "EmbeddedPostgres", "OrderModel", "OrderStore", "Feeds", "RunSupport",
            "Pipeline", "Export", "Reports", "SyntheticFeeds", "OrderAPI", "Console", "Notifications", "Monitoring",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // Fuzz targets (docs/fuzzing.md): libFuzzer with -DFUZZING, else a corpus replayer.
        .executableTarget(name: "orderflow-fuzz", dependencies: ["Feeds", "Pipeline", "OrderModel"]),

        .testTarget(name: "ArchitectureTests"),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "OrderflowTestSupport"]),
        .testTarget(name: "EmbeddedPostgresTests", dependencies: ["EmbeddedPostgres", "PostgresClient", "OrderflowTestSupport"]),
        .testTarget(name: "OrderModelTests", dependencies: ["OrderModel"]),
        .testTarget(name: "OrderStoreTests", dependencies: ["OrderStore", "OrderModel", "PostgresClient", "OrderflowTestSupport"]),
        .testTarget(name: "FeedsTests", dependencies: ["Feeds", "OrderflowTestSupport"]),
        .testTarget(name: "RunSupportTests", dependencies: [
            "RunSupport",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .testTarget(name: "ExportTests", dependencies: [
            "Export", "Reports", "Pipeline", "Feeds", "RunSupport", "DefinitionFile", "OrderModel", "PostgresClient", "OrderflowTestSupport", "CZlib",
        ]),
        .testTarget(name: "OrderAPITests", dependencies: [
            "OrderAPI", "OrderStore", "OrderModel", "PostgresClient", "OrderflowTestSupport", "Pipeline",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .testTarget(name: "ConsoleTests", dependencies: [
            "Console", "OrderAPI", "OrderModel", "PostgresClient", "OrderflowTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "NotificationsTests", dependencies: [
            "Notifications", "DefinitionFile", "OrderflowTestSupport",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "PipelineTests", dependencies: [
            "Pipeline", "Reports", "Notifications", "Monitoring", "Feeds", "RunSupport", "SyntheticFeeds", "DefinitionFile", "OrderModel", "OrderStore", "PostgresClient",
            "OrderflowTestSupport", "EmbeddedPostgres",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
