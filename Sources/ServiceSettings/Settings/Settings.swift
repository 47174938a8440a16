public import Logging
public import Postgres

/// Every setting of every command, in one table: environment variable, flag, what it accepts,
/// default. Commands read them with `SettingReader` in `validate()`, so a bad value is refused,
/// by name, before anything starts. To add a setting: add a `static let` here, read it in the
/// command's settings function, and list it in the README's configuration table.
///
/// Zero is accepted only where it means something, and then the table says what.
public enum Settings {
    // MARK: Every command

    public static let logLevel = Setting.logLevel("LOG_LEVEL", default: .info)
    public static let connectTimeout = Setting.integer(
        "CONNECT_TIMEOUT", 1...3600, default: 5, unit: "seconds to wait for PostgreSQL to answer a connection")
    /// What is between `DATABASE_URL` and PostgreSQL (docs/scaling.md).
    public static let databasePooler = Setting<ConnectionPooler>(
        "DATABASE_POOLER", accepts: "none or transaction (a transaction pooler such as PgBouncer in transaction mode)",
        default: .none
    ) { ConnectionPooler(rawValue: $0.lowercased()) }
    /// Read as text and checked by libpq's own parser (`DatabaseLocator.checkedURL`), which says what is wrong.
    public static let databaseURL = connectionString("DATABASE_URL")
    /// A connection that bypasses a transaction pooler, for what needs a session.
    public static let databaseDirectURL = connectionString("DATABASE_DIRECT_URL")
    /// A hot-standby replica for reads (`serve`) and for the audit's scan.
    public static let databaseReadURL = connectionString("DATABASE_READ_URL")
    /// Where the embedded cluster lives (under `postgres/`) when `DATABASE_URL` is not set.
    public static let stateDirectory = Setting.text(
        "BIDENGINE_STATE_DIR", flag: "--state-dir", accepts: "a directory path", default: ".bidengine")
    /// Searched before `./Migrations` and the install locations (`DatabaseLocator.migrationsDirectory`).
    public static let migrationsDirectory = Setting.text(
        "BIDENGINE_MIGRATIONS_DIR", flag: "--migrations-dir", accepts: "a directory of NNNN_name.sql migrations",
        default: "Migrations")

    // MARK: serve

    public static let host = Setting.text(
        "HOST", flag: "--host", accepts: "an address such as 127.0.0.1 or 0.0.0.0", default: "127.0.0.1")
    public static let port = Setting.integer("PORT", flag: "--port", 0...65_535, default: 8080, zero: "any free port")
    public static let threads = Setting.integer(
        "THREADS", flag: "--threads", 0...1024, default: 0, zero: "one event loop per core")
    public static let maxBodySize = Setting.integer(
        "MAX_BODY_SIZE", flag: "--max-body-size", 1...(64 << 20), default: 65_536, unit: "bytes")
    public static let maxBulkItems = Setting.integer(
        "MAX_BULK_ITEMS", flag: "--max-bulk-items", 1...100_000, default: 1000, unit: "bids per batch request")
    public static let maxBulkBodySize = Setting.integer(
        "MAX_BULK_BODY_SIZE", flag: "--max-bulk-body-size", 1...(256 << 20), default: 1_048_576, unit: "bytes")
    public static let requestTimeout = Setting.integer(
        "REQUEST_TIMEOUT", flag: "--request-timeout", 1...3600, default: 10, unit: "seconds")
    public static let idleTimeout = Setting.integer(
        "IDLE_TIMEOUT", flag: "--idle-timeout", 1...86_400, default: 60, unit: "seconds")
    public static let firstByteTimeout = Setting.integer(
        "FIRST_BYTE_TIMEOUT", flag: "--first-byte-timeout", 1...3600, default: 10, unit: "seconds")
    public static let databaseTimeout = Setting.integer(
        "DATABASE_TIMEOUT_MS", flag: "--database-timeout-ms", 1...600_000, default: 1000, unit: "milliseconds")
    public static let maxBatchSize = Setting.integer(
        "MAX_BATCH_SIZE", flag: "--max-batch-size", 1...65_535, default: 512, unit: "bids")
    public static let maxWritesInFlight = Setting.integer(
        "MAX_WRITES_IN_FLIGHT", flag: "--max-writes-in-flight", 1...64, default: 1, unit: "statements per event loop")
    /// A second database connection per event loop for single bids (docs/decisions/0019-single-bid-connection.md).
    public static let singleBidConnection = Setting.boolean("SINGLE_BID_CONNECTION", default: true)
    /// Bulk's share while single bids arrive (docs/performance.md, "Isolation").
    public static let bulkRateBesideSingles = Setting.integer(
        "BULK_RATE_BESIDE_SINGLES", 0...100_000_000, default: 5000,
        unit: "bulk bids per second per event loop while single bids arrive",
        zero: "unlimited")
    public static let shutdownTimeout = Setting.integer(
        "SHUTDOWN_TIMEOUT", flag: "--shutdown-timeout", 1...3600, default: 10, unit: "seconds")
    public static let accessLog = Setting.boolean("ACCESS_LOG", default: true)
    public static let serverTiming = Setting.boolean("SERVER_TIMING", default: true)
    public static let apiKeyRate = Setting.integer(
        "API_KEY_RATE", 0...1_000_000_000, default: 0, unit: "bids per second per key", zero: "unlimited")
    public static let apiKeyBurst = Setting.integer(
        "API_KEY_BURST", 0...1_000_000_000, default: 0, unit: "bids", zero: "API_KEY_RATE (one second's worth)")
    /// Bearer keys, comma-separated, under the default quota (`APIKeys.load` parses them).
    public static let apiKeys = Setting.text("BIDENGINE_API_KEYS", accepts: "keys, comma-separated", default: "")
    /// A file of keys, one a line with an optional name and quota (`APIKeyFile`).
    public static let apiKeysFile = Setting.text("BIDENGINE_API_KEYS_FILE", accepts: "a file path", default: "")
    /// A read replica further behind than this gets no reads until it catches up.
    public static let readMaxLag = Setting<Duration>(
        "READ_MAX_LAG", accepts: "seconds (5) or milliseconds (500ms)", default: .seconds(5)
    ) { ReadSettings.parseLag($0) }

    // MARK: schedule

    public static let metricsHost = Setting.text(
        "METRICS_HOST", flag: "--metrics-host", accepts: "an address such as 127.0.0.1", default: "127.0.0.1")
    public static let metricsPort = Setting.integer(
        "METRICS_PORT", flag: "--metrics-port", 0...65_535, default: 0, zero: "any free port")

    private static func connectionString(_ name: String) -> Setting<String> {
        .text(name, accepts: "a libpq connection URI (postgresql://user@host:5432/db) or key=value string", default: "")
    }
}
