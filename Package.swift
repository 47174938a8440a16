// swift-tools-version:6.1
import PackageDescription

/// One settings array for every target, so the whole package builds in Swift 6 mode with the same checks.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// What the audit and the competitor-price poller build on; neither imports the other.
let subsystemDependencies: [Target.Dependency] = [
    "TextFormats", "JSONRoutes", "Observability", "ServiceSettings", "Scheduler", "BidCore", "HTTPServer", "Postgres",
    "Telemetry",
    .product(name: "Logging", package: "swift-log"),
    .product(name: "Metrics", package: "swift-metrics"),
]

let package = Package(
    name: "BidEngine",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bidengine", targets: ["bidengine"])
    ],
    dependencies: [
        // Command-line parsing for `bidengine` and `Benchmarks`; the only way to get --help right cheaply.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        // Structured logs (JSON lines) and metrics: the server-side Swift standard APIs.
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        // The Prometheus exporter for swift-metrics behind GET /metrics.
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        // Latency distributions in the Benchmarks target (coordinated-omission-corrected percentiles).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
    ],
    targets: [
        // MARK: C libraries (only their wrapper modules import them)
        .systemLibrary(
            name: "CLibevent", pkgConfig: "libevent_pthreads",
            providers: [.apt(["libevent-dev"])]),
        .systemLibrary(
            name: "CLibpq", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]),

        // MARK: Modules
        .target(name: "BidCore", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(name: "HTTPServer", dependencies: ["CLibevent"], exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Postgres", dependencies: ["CLibpq", .product(name: "DequeModule", package: "swift-collections")],
            exclude: ["README.md"], swiftSettings: swiftSettings),
        // Spans recorded by the loops and exported as OTLP/HTTP JSON from a thread of its own
        // (docs/decisions/0018-otlp-json-exporter.md: why not swift-otel).
        .target(name: "Telemetry", exclude: ["README.md"], swiftSettings: swiftSettings),
        // The application, split by job; arrows point toward BidCore, Postgres and HTTPServer
        // (scripts/ci/import-rules.txt holds the rules, `make imports` checks them).
        // How values are written as text: RFC 3339 and audit instants, base64url, JSON numbers,
        // PostgreSQL array literals.
        .target(name: "TextFormats", dependencies: ["BidCore"], exclude: ["README.md"], swiftSettings: swiftSettings),
        // What the JSON routes share: responses and errors, query parameters, paging, keyset cursors,
        // database reads on the loop that serves the request, trace fields in its log lines.
        .target(
            name: "JSONRoutes",
            dependencies: [
                "TextFormats", "BidCore", "HTTPServer", "Postgres", .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"], swiftSettings: swiftSettings),
        // JSON logs, the Prometheus backend, the terminal progress line.
        .target(
            name: "Observability",
            dependencies: [
                "BidCore", "HTTPServer", "Postgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            exclude: ["README.md"], swiftSettings: swiftSettings),
        // The settings table, and what the settings decide before a command starts: where the
        // database is, how its URL is masked, how start-up waits for it.
        .target(
            name: "ServiceSettings",
            dependencies: ["Postgres", .product(name: "Logging", package: "swift-log")],
            exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Scheduler",
            dependencies: [
                "TextFormats", "Postgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Audit",
            dependencies: subsystemDependencies,
            exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "CompetitorPrices",
            dependencies: subsystemDependencies,
            exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "Maintenance",
            dependencies: subsystemDependencies,
            exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "BidService",
            dependencies: [
                "TextFormats", "JSONRoutes", "Observability", "ServiceSettings", "Audit", "CompetitorPrices", "BidCore",
                "HTTPServer", "Postgres", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            exclude: ["README.md"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "bidengine",
            dependencies: [
                "BidCore", "BidService", "TextFormats", "Observability", "ServiceSettings", "Audit", "CompetitorPrices",
                "Maintenance", "Scheduler", "Telemetry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"], swiftSettings: swiftSettings),

        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "BidCore", "BidService", "JSONRoutes", "HTTPServer", "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks", exclude: ["README.md"],
            swiftSettings: swiftSettings),

        // MARK: Tests
        .testTarget(name: "BidCoreTests", dependencies: ["BidCore"], swiftSettings: swiftSettings),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry"], swiftSettings: swiftSettings),
        // A blocking raw-socket HTTP client shared by the tests that go over real sockets, and an
        // in-process server on a Unix-domain socket for the tests and the HTTP fuzzer.
        .target(
            name: "HTTPTestSupport", dependencies: ["HTTPServer"], path: "Tests/HTTPTestSupport",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPTestSupport"], swiftSettings: swiftSettings),
        // Fresh databases for tests: on TEST_DATABASE_URL's server, or in one throwaway cluster per process.
        .target(
            name: "PostgresTestSupport", dependencies: ["Postgres"], path: "Tests/PostgresTestSupport",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PostgresTests", dependencies: ["Postgres", "PostgresTestSupport", "HTTPServer"],
            swiftSettings: swiftSettings),
        // A real BidServer on a fresh database, and the audit's seeded database, for the service's test targets.
        .target(
            name: "ServiceTestSupport",
            dependencies: [
                "BidService", "Audit", "BidCore", "Postgres", "PostgresTestSupport", "HTTPTestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Tests/ServiceTestSupport", swiftSettings: swiftSettings),
        // The bid API: routes, the writer, quotas, history, outages, in process and over sockets.
        .testTarget(
            name: "BidServiceTests",
            dependencies: [
                "BidService", "TextFormats", "JSONRoutes", "Observability", "ServiceSettings", "Scheduler", "BidCore",
                "HTTPServer", "Postgres", "PostgresTestSupport",
                "HTTPTestSupport", "ServiceTestSupport", "Telemetry",
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        // Every setting: the table's parsing, and each command refusing a bad value before it starts.
        .testTarget(
            name: "SettingsTests",
            dependencies: [
                "ServiceSettings", "Audit", "Maintenance", "CompetitorPrices", "Scheduler", "BidCore",
                "ServiceTestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        // `bidengine` run as a process: exit statuses, start-up, the shared cluster, what reaches stderr.
        .testTarget(
            name: "ExecutableTests",
            dependencies: ["Postgres", "PostgresTestSupport", "HTTPTestSupport", "ServiceTestSupport"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SchedulerTests",
            dependencies: [
                "Scheduler", "Audit", "TextFormats", "BidCore", "Postgres", "ServiceTestSupport",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AuditTests",
            dependencies: [
                "Audit", "Scheduler", "TextFormats", "JSONRoutes", "ServiceSettings", "BidCore", "HTTPServer",
                "Postgres",
                "HTTPTestSupport", "ServiceTestSupport", "Telemetry",
            ],
            // Read from the source tree by path (#filePath), not bundled.
            exclude: ["Golden"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CompetitorPricesTests",
            dependencies: [
                "CompetitorPrices", "Scheduler", "TextFormats", "JSONRoutes", "ServiceSettings", "BidCore",
                "HTTPServer",
                "Postgres", "PostgresTestSupport", "HTTPTestSupport", "ServiceTestSupport", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MaintenanceTests",
            dependencies: [
                "Maintenance", "Scheduler", "Postgres", "PostgresTestSupport", "ServiceTestSupport", "Telemetry",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings),
    ]
)
