// swift-tools-version:6.0
import PackageDescription

// The index is optimised in debug builds too: its tests build and search indexes of
// tens of thousands of templates, which unoptimised code takes minutes to do.
let optimisedInDebug = SwiftSetting.unsafeFlags(["-O"], .when(configuration: .debug))
#if arch(x86_64)
    let vectorKernelSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"]), optimisedInDebug]
#else
    let vectorKernelSettings: [SwiftSetting] = [optimisedInDebug]
#endif

// OpenVINO's C runtime (headers and libraries), which scripts/setup.sh unpacks from its
// PyPI wheel into the checkout: the networks' engine. (Not a condition on whether it is
// there: SwiftPM caches a manifest's result by its text, so a build would not notice
// the runtime arriving later.)
let openVINO = Context.packageDirectory + "/.lineup/openvino"

let package = Package(
    name: "Lineup",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "lineup", targets: ["CLI"]),
        .executable(name: "lineup-bench", targets: ["Bench"]),
        .library(name: "FaceVision", targets: ["FaceVision"]),
        .library(name: "WebArchive", targets: ["WebArchive"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        // Milvus's gRPC API. The code generated from Sources/Milvus/Protocol/milvus.proto
        // is committed (scripts/generate-milvus-proto.sh), so its generator's versions are exact.
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.0"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.0"),
    ],
    targets: [
        // OpenCV 4 from the system, found through pkg-config.
        .systemLibrary(
            name: "COpenCV4",
            pkgConfig: "opencv4",
            providers: [.apt(["libopencv-dev"])]
        ),
        // The thin C++ shim: decoding, resizing, warping and running ONNX nets.
        .target(
            name: "CVision",
            dependencies: ["COpenCV4"],
            linkerSettings: [
                .linkedLibrary("opencv_dnn"),
                .linkedLibrary("opencv_imgcodecs"),
                .linkedLibrary("opencv_imgproc"),
                .linkedLibrary("opencv_videoio"),
                .linkedLibrary("opencv_core"),
            ]
        ),
        // The C shim over OpenVINO's C API: compiling and running ONNX networks.
        .target(
            name: "COpenVINO",
            cSettings: [.unsafeFlags(["-I" + openVINO + "/include"])],
            linkerSettings: [
                .unsafeFlags(["-L" + openVINO + "/lib", "-Xlinker", "-rpath", "-Xlinker", openVINO + "/lib"]),
                .linkedLibrary("openvino_c"),
            ]
        ),
        .target(name: "FaceVision", dependencies: ["CVision", "COpenVINO", "Index"], resources: [.process("Resources")]),
        // One inline function: the prefetch hint Swift lacks.
        .target(name: "CPrefetch"),
        // The scan index's kernel: 4-bit code look-ups by SIMD shuffle (AVX2 when the
        // processor has it, chosen at run time; a portable loop otherwise).
        .target(name: "CScan", cSettings: [.unsafeFlags(["-O3"])]),
        // The graph index's kernels are compiled for AVX2 and FMA on x86-64 (2013 and
        // later processors); measured: see the README's index section.
        .target(
            name: "Index",
            dependencies: ["CPrefetch", "CScan", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: vectorKernelSettings
        ),
        // zlib's inflate, member by member, for .warc.gz files.
        .target(name: "CGzip", linkerSettings: [.linkedLibrary("z")]),
        // Web archives the operator holds: WARC records read streaming and checked, and
        // the pictures each archived page showed.
        .target(name: "WebArchive", dependencies: ["CGzip", .product(name: "Crypto", package: "swift-crypto")]),
        // Face templates in Milvus (its gRPC API), for galleries past one machine.
        .target(
            name: "Milvus",
            dependencies: [
                "Index",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["Protocol/milvus.proto"]
        ),
        .target(
            name: "Store",
            dependencies: ["FaceVision", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The metadata store on a PostgreSQL server, shared by any number of `lineup serve`.
        .target(
            name: "PostgresStore",
            dependencies: ["Store", .product(name: "PostgresNIO", package: "postgres-nio")]
        ),
        .target(
            name: "Gallery",
            dependencies: ["FaceVision", "Index", "Store", "WebArchive", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Accounts, policy, audit log, people's rights: the rules every entry point goes through.
        .target(
            name: "Governance",
            dependencies: ["FaceVision", "Index", "Store", "Gallery", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The HTTP API and the web interface (Hummingbird 2, Mustache pages) over the same
        // Governance layer as the CLI.
        .target(
            name: "Server",
            dependencies: [
                "FaceVision", "Store", "Gallery", "Governance",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Pages")]
        ),
        .target(
            name: "Evaluation",
            dependencies: ["FaceVision", "Index", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // What Lineup's two programs share: option groups, output, the checkout's paths.
        .target(
            name: "Console",
            dependencies: [
                "FaceVision", "Evaluation", "Milvus", "Store", "PostgresStore", "Gallery", "Governance",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `lineup`: the operator's tool (accounts, sources, ingest, search, rights, serve).
        .executableTarget(
            name: "CLI",
            dependencies: [
                "Console", "FaceVision", "Evaluation", "Index", "Milvus", "Store", "PostgresStore", "Gallery", "Governance", "Server",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `lineup-bench`: evaluation, calibration and benchmarks against the named peers.
        .executableTarget(
            name: "Bench",
            dependencies: [
                "Console", "FaceVision", "Evaluation", "Index", "Milvus", "Store", "Gallery", "Governance", "Server", "WebArchive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the test targets share: whether they run in CI, where a missing server,
        // data set or browser fails a suite instead of skipping it.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "FaceVisionTests", dependencies: ["FaceVision", "Index", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "FaceVision"]),
        // Reads WARC files written by warcio (PyPI), not by Lineup.
        .testTarget(name: "WebArchiveTests", dependencies: ["TestSupport", "WebArchive"]),
        .testTarget(name: "IndexTests", dependencies: ["Index", "CScan", .product(name: "Crypto", package: "swift-crypto")]),
        // Runs against a real Milvus (scripts/cluster.sh start); skips, saying so, without one.
        .testTarget(name: "MilvusTests", dependencies: ["TestSupport", "Milvus", "Index"]),
        .testTarget(name: "GalleryTests", dependencies: ["TestSupport", "Gallery", "Store", "Index", "FaceVision"]),
        // Runs against SQLite, against PostgreSQL, and in cluster mode (PostgreSQL and Milvus) when
        // those answer (scripts/cluster.sh).
        .testTarget(
            name: "GovernanceTests",
            dependencies: [
                "TestSupport", "Governance", "Gallery", "Store", "PostgresStore", "Milvus", "Index", "FaceVision",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(name: "PostgresStoreTests", dependencies: ["TestSupport", "PostgresStore", "Store"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "TestSupport", "Server", "Governance", "Gallery", "Store", "FaceVision",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        // Runs the built `lineup` executable.
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "CLI", "Bench"]),
    ],
    cxxLanguageStandard: .cxx17
)
