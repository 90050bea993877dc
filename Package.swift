// swift-tools-version:6.1
import PackageDescription

let integrationTestDependencies: [Target.Dependency] = [
    "MongoPG", "TestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
]

// The tools allocate many small values (documents, rows, cells); jemalloc (Debian's libjemalloc) takes a fifth off
// oplog-sync's CPU beside glibc's malloc (scripts/bench-oplog). Linked into the executables only.
let fastAllocator: [LinkerSetting] = [.linkedLibrary("jemalloc", .when(platforms: [.linux]))]

let package = Package(
    name: "mongo-pg-sync",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "MongoPG", targets: ["MongoPG"]),
        .executable(name: "mongo-reader", targets: ["mongo-reader"]),
        .executable(name: "psql-copy", targets: ["psql-copy"]),
        .executable(name: "etlstatus", targets: ["etlstatus"]),
        .executable(name: "oplog-sync", targets: ["oplog-sync"]),
        .executable(name: "mongo-schema", targets: ["mongo-schema"]),
        .executable(name: "mongo-pg-bench", targets: ["mongo-pg-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CMongoC", pkgConfig: "libmongoc-1.0",
            providers: [.apt(["libmongoc-dev", "libbson-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "MongoPG",
            dependencies: [
                "CMongoC", "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]),
        .executableTarget(name: "mongo-reader", dependencies: ["MongoPG"], linkerSettings: fastAllocator),
        .executableTarget(name: "psql-copy", dependencies: ["MongoPG"], linkerSettings: fastAllocator),
        .executableTarget(name: "etlstatus", dependencies: ["MongoPG"], linkerSettings: fastAllocator),
        .executableTarget(name: "oplog-sync", dependencies: ["MongoPG"], linkerSettings: fastAllocator),
        .executableTarget(name: "mongo-schema", dependencies: ["MongoPG"], linkerSettings: fastAllocator),
        .executableTarget(
            name: "mongo-pg-bench",
            dependencies: ["MongoPG", "CMongoC", .product(name: "Logging", package: "swift-log")],
            path: "Benchmarks/mongo-pg-bench", linkerSettings: fastAllocator),
        .target(
            name: "TestSupport", dependencies: ["MongoPG"], path: "Tests/TestSupport",
            exclude: ["Fixtures"]),
        .testTarget(name: "BSONTests", dependencies: integrationTestDependencies + ["CMongoC"]),
        .testTarget(name: "MongoTests", dependencies: integrationTestDependencies),
        .testTarget(name: "PostgresTests", dependencies: integrationTestDependencies),
        .testTarget(name: "ConfigTests", dependencies: integrationTestDependencies),
        .testTarget(name: "StateTests", dependencies: integrationTestDependencies),
        .testTarget(name: "SchemaTests", dependencies: integrationTestDependencies),
        .testTarget(name: "StoredTests", dependencies: integrationTestDependencies),
        .testTarget(name: "VerifyTests", dependencies: integrationTestDependencies),
        .testTarget(name: "CSVTests", dependencies: integrationTestDependencies),
        .testTarget(name: "LoadTests", dependencies: integrationTestDependencies),
        .testTarget(name: "OplogTests", dependencies: integrationTestDependencies),
        .testTarget(name: "StatusTests", dependencies: integrationTestDependencies),
        .testTarget(name: "SupportTests", dependencies: integrationTestDependencies),
        .testTarget(
            name: "CommandLineTests",
            dependencies: integrationTestDependencies + [
                "mongo-reader", "psql-copy", "etlstatus", "oplog-sync", "mongo-schema",
            ]),
    ]
)
