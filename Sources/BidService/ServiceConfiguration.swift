public import Postgres
import ServiceSettings
public import Telemetry

/// Everything `bidengine serve` can be told, with the defaults documented in the README.
public struct ServiceConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var threads = 0  // 0 = one loop per core
    /// libpq connection string; nil = the embedded cluster under `stateDirectory`.
    public var databaseURL: String?
    /// What is between `databaseURL` and PostgreSQL (`DATABASE_POOLER`).
    public var databasePooler: ConnectionPooler = .none
    /// A connection that bypasses the pooler, for migrations (`DATABASE_DIRECT_URL`).
    public var databaseDirectURL: String?
    /// libpq connection string of a hot-standby replica for reads (history, competitor prices,
    /// audit listings and reports); nil = every read on the primary.
    public var readDatabaseURL: String?
    /// A replica further behind than this gets no reads until it catches up (`READ_MAX_LAG`).
    public var readMaxLag: Duration = .seconds(5)
    public var stateDirectory = ".bidengine"
    public var migrationsDirectory: String?
    public var migrateOnStart = true
    public var maxBodySize = 65_536
    /// Most bids in one `POST /api/bids/batch`; more gets 413.
    public var maxBulkItems = 1000
    /// Largest `POST /api/bids/batch` body in bytes (that route's own limit instead of `maxBodySize`).
    public var maxBulkBodySize = 1_048_576
    public var requestTimeout: Duration = .seconds(10)
    public var idleTimeout: Duration = .seconds(60)
    /// A connection that has sent nothing is closed after this (a connect flood holds no descriptors long).
    public var firstByteTimeout: Duration = .seconds(10)
    /// How long a bid may wait for the database before the client gets 503.
    public var databaseTimeout: Duration = .seconds(1)
    public var maxBatchSize = 512
    /// Bid statements pipelined at once on each loop's connection (measured: docs/performance.md).
    public var maxWritesInFlight = 1
    /// Each loop writes single bids on a connection of their own, apart from bulk groups.
    public var singleBidConnection = true
    /// Bulk bids per second per event loop while single bids are arriving; 0: not limited.
    public var bulkRateBesideSingles = 5000
    /// Bids waiting per loop in each of the writer's lanes (single, bulk) beyond which new ones get 503 at once.
    public var maxPendingPerLoop = 8192
    public var shutdownTimeout: Duration = .seconds(10)
    /// libpq `connect_timeout` for every connection, unless `databaseURL` sets its own (`CONNECT_TIMEOUT`).
    public var connectTimeoutSeconds = 5
    /// Serves `GET /bench/ceiling` (a fixed response, no database) so benchmarks can measure the
    /// HTTP layer's ceiling with the same build. Off in production.
    public var benchEndpoints = false
    /// When not empty, every `/api/*` route requires `Authorization: Bearer <key>`.
    public var apiKeys = APIKeys([APIKey]())
    /// One JSON line per request (method, path, status, duration, request id).
    public var accessLog = true
    /// Bid and bulk answers carry `Server-Timing` (queue, db, total).
    public var serverTiming = true
    /// OpenTelemetry export (the `OTEL_*` variables); nil: off.
    public var tracing: TracingSettings?
    /// How long an Idempotency-Key is remembered.
    public var idempotencyRetention: Duration = .seconds(24 * 3600)
    /// How often expired keys are swept.
    public var idempotencySweepInterval: Duration = .seconds(60)

    public init() {}

    /// The settings as `key=value` lines for the startup log, secrets masked.
    public var summary: [(String, String)] {
        [
            ("host", host), ("port", String(port)), ("threads", threads == 0 ? "auto" : String(threads)),
            ("database", databaseURL.map { ConnectionStringMask.mask($0) } ?? "embedded (\(stateDirectory)/postgres)"),
            ("database_pooler", databasePooler.rawValue),
            ("database_direct", databaseDirectURL.map { ConnectionStringMask.mask($0) } ?? "none"),
            ("read_database", readDatabaseURL.map { ConnectionStringMask.mask($0) } ?? "none (reads on the primary)"),
            ("read_max_lag", readMaxLag.description),
            ("migrations", migrationsDirectory ?? "auto"), ("migrate_on_start", String(migrateOnStart)),
            ("max_body_size", String(maxBodySize)), ("max_bulk_items", String(maxBulkItems)),
            ("max_bulk_body_size", String(maxBulkBodySize)), ("request_timeout", requestTimeout.description),
            ("idle_timeout", idleTimeout.description), ("first_byte_timeout", firstByteTimeout.description),
            ("database_timeout", databaseTimeout.description), ("connect_timeout", "\(connectTimeoutSeconds) seconds"),
            ("max_batch_size", String(maxBatchSize)),
            ("max_writes_in_flight", String(maxWritesInFlight)), ("max_pending_per_loop", String(maxPendingPerLoop)),
            ("single_bid_connection", String(singleBidConnection)),
            (
                "bulk_rate_beside_singles",
                bulkRateBesideSingles == 0 ? "unlimited" : "\(bulkRateBesideSingles) bids per second per event loop"
            ),
            ("shutdown_timeout", shutdownTimeout.description), ("bench_endpoints", String(benchEndpoints)),
            ("api_keys", apiKeys.isEmpty ? "none (API open)" : "\(apiKeys.count) configured"),
            ("access_log", String(accessLog)), ("server_timing", String(serverTiming)),
            (
                "tracing",
                tracing.map {
                    "\($0.exporter.endpoint.absoluteString) sampler \($0.samplerName) \($0.samplerArgument ?? "")"
                } ?? "off"
            ),
            ("idempotency_retention", idempotencyRetention.description),
        ]
    }
}
