import ArgumentParser
import BidService
import Foundation
import Logging
import ServiceSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine serve`: the HTTP API. Flags win over environment variables, which win over defaults.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API (POST /api/bid, /healthz, /readyz).",
        discussion: """
            Database: DATABASE_URL (any libpq URI or key/value string; sslmode is honoured). Without it,
            a private PostgreSQL cluster is started under <state-dir>/postgres (unix socket only) and
            stopped on exit. Migrations are applied at start unless --no-migrate.
            Environment: HOST, PORT, THREADS, DATABASE_URL, MAX_BODY_SIZE, MAX_BULK_ITEMS, MAX_BULK_BODY_SIZE,
            REQUEST_TIMEOUT, IDLE_TIMEOUT, FIRST_BYTE_TIMEOUT,
            DATABASE_TIMEOUT_MS, MAX_BATCH_SIZE, MAX_WRITES_IN_FLIGHT, SHUTDOWN_TIMEOUT, BIDENGINE_STATE_DIR,
            BIDENGINE_MIGRATIONS_DIR, LOG_LEVEL (trace|debug|info|notice|warning|error|critical),
            ACCESS_LOG (on|off; default on), BIDENGINE_API_KEYS (comma-separated bearer keys) or
            BIDENGINE_API_KEYS_FILE (a file of keys, comma- or newline-separated). With no keys, /api/* is open.
            DATABASE_READ_URL: a hot-standby replica for reads (bid history, competitor prices, audit listings and
            reports); reads fall back to the primary while it is down or lags by more than READ_MAX_LAG (seconds,
            or 500ms; default 5). Writes always go to DATABASE_URL.
            """)

    @Option(help: "Address to listen on (env HOST; default 127.0.0.1).") var host: String?
    @Option(help: "Port (env PORT; default 8080; 0 = any free port).") var port: Int?
    @Option(help: "Event-loop threads (env THREADS; default: one per core).") var threads: Int?
    @Option(
        name: .customLong("max-body-size"),
        help: "Largest request body in bytes; larger gets 413 (env MAX_BODY_SIZE; default 65536).")
    var maxBodySize: Int?
    @Option(
        name: .customLong("max-bulk-items"),
        help: "Most bids in one POST /api/bids/batch; more gets 413 (env MAX_BULK_ITEMS; default 1000).")
    var maxBulkItems: Int?
    @Option(
        name: .customLong("max-bulk-body-size"),
        help: "Largest POST /api/bids/batch body in bytes; larger gets 413 (env MAX_BULK_BODY_SIZE; default 1048576).")
    var maxBulkBodySize: Int?
    @Option(
        name: .customLong("request-timeout"),
        help: "Seconds a client has to send a whole request (env REQUEST_TIMEOUT; default 10).")
    var requestTimeout: Int?
    @Option(
        name: .customLong("idle-timeout"),
        help: "Seconds an idle keep-alive connection stays open (env IDLE_TIMEOUT; default 60).")
    var idleTimeout: Int?
    @Option(
        name: .customLong("first-byte-timeout"),
        help: "Seconds a new connection may stay silent before it is closed (env FIRST_BYTE_TIMEOUT; default 10).")
    var firstByteTimeout: Int?
    @Option(
        name: .customLong("database-timeout-ms"),
        help: "Milliseconds a bid may wait for the database before 503 (env DATABASE_TIMEOUT_MS; default 1000).")
    var databaseTimeoutMilliseconds: Int?
    @Option(
        name: .customLong("max-batch-size"),
        help: "Most bids written in one statement (env MAX_BATCH_SIZE; default 512).")
    var maxBatchSize: Int?
    @Option(
        name: .customLong("max-writes-in-flight"),
        help: "Bid statements in flight at once per event loop (env MAX_WRITES_IN_FLIGHT; default 2).")
    var maxWritesInFlight: Int?
    @Option(
        name: .customLong("shutdown-timeout"),
        help: "Seconds to drain on SIGTERM/SIGINT before closing (env SHUTDOWN_TIMEOUT; default 10).")
    var shutdownTimeout: Int?
    @Option(
        name: .customLong("state-dir"),
        help: "Where the embedded database lives (env BIDENGINE_STATE_DIR; default .bidengine).")
    var stateDirectory: String?
    @Option(
        name: .customLong("migrations-dir"),
        help: "Directory of NNNN_name.sql migrations (env BIDENGINE_MIGRATIONS_DIR).")
    var migrationsDirectory: String?
    @Flag(name: .customLong("no-migrate"), help: "Do not apply migrations at start.") var noMigrate = false
    @Flag(
        name: .customLong("bench-endpoints"),
        help: "Also serve GET/POST /bench/ceiling, a fixed response without the database (benchmarks only).")
    var benchEndpoints = false

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        JSONLogHandler.bootstrap(levelName: environment["LOG_LEVEL"])
        let logger = Logger(label: "bidengine.serve")
        let configuration = try resolve(environment)
        for (key, value) in configuration.summary {
            logger.info("config", metadata: ["key": "\(key)", "value": "\(value)"])
        }

        // Peers that vanish mid-reply must not kill the process; signals are taken by sigwait below.
        signal(SIGPIPE, SIG_IGN)
        let shutdownSignals = SignalWaiter(signals: [SIGTERM, SIGINT])
        let server = BidServer(configuration: configuration, logger: logger)
        do {
            try server.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            server.shutdown()
            throw ExitCode(1)
        }
        let received = shutdownSignals.wait()
        logger.notice(
            "shutting down", metadata: ["signal": "\(received)", "deadline": "\(configuration.shutdownTimeout)"])
        server.shutdown()
        logger.notice("stopped")
    }

    private func resolve(_ environment: [String: String]) throws -> ServiceConfiguration {
        var configuration = ServiceConfiguration()
        func integer(_ flag: Int?, _ key: String) throws -> Int? {
            if let flag { return flag }
            guard let text = environment[key], !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw ValidationError("\(key) must be an integer, got '\(text)'") }
            return value
        }
        configuration.host = host ?? environment["HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? configuration.host
        configuration.port = try integer(port, "PORT") ?? configuration.port
        configuration.threads = try integer(threads, "THREADS") ?? configuration.threads
        configuration.databaseURL = environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.readDatabaseURL = environment["DATABASE_READ_URL"].flatMap { $0.isEmpty ? nil : $0 }
        if let text = environment["READ_MAX_LAG"], !text.isEmpty {
            guard let lag = ReadSettings.parseLag(text) else {
                throw ValidationError("READ_MAX_LAG must be seconds (5) or milliseconds (500ms), got '\(text)'")
            }
            configuration.readMaxLag = lag
        }
        configuration.maxBodySize = try integer(maxBodySize, "MAX_BODY_SIZE") ?? configuration.maxBodySize
        configuration.maxBulkItems = try integer(maxBulkItems, "MAX_BULK_ITEMS") ?? configuration.maxBulkItems
        configuration.maxBulkBodySize =
            try integer(maxBulkBodySize, "MAX_BULK_BODY_SIZE") ?? configuration.maxBulkBodySize
        if let seconds = try integer(requestTimeout, "REQUEST_TIMEOUT") {
            configuration.requestTimeout = .seconds(seconds)
        }
        if let seconds = try integer(idleTimeout, "IDLE_TIMEOUT") { configuration.idleTimeout = .seconds(seconds) }
        if let seconds = try integer(firstByteTimeout, "FIRST_BYTE_TIMEOUT") {
            configuration.firstByteTimeout = .seconds(seconds)
        }
        if let milliseconds = try integer(databaseTimeoutMilliseconds, "DATABASE_TIMEOUT_MS") {
            configuration.databaseTimeout = .milliseconds(milliseconds)
        }
        configuration.maxBatchSize = try integer(maxBatchSize, "MAX_BATCH_SIZE") ?? configuration.maxBatchSize
        configuration.maxWritesInFlight =
            try integer(maxWritesInFlight, "MAX_WRITES_IN_FLIGHT") ?? configuration.maxWritesInFlight
        if let seconds = try integer(shutdownTimeout, "SHUTDOWN_TIMEOUT") {
            configuration.shutdownTimeout = .seconds(seconds)
        }
        configuration.stateDirectory =
            stateDirectory ?? environment["BIDENGINE_STATE_DIR"] ?? configuration.stateDirectory
        configuration.migrationsDirectory = migrationsDirectory
        configuration.migrateOnStart = !noMigrate
        configuration.benchEndpoints = benchEndpoints
        configuration.apiKeys = try APIKeys.load(environment: environment)
        configuration.accessLog = (environment["ACCESS_LOG"] ?? "on").lowercased() != "off"
        guard (0...65535).contains(configuration.port) else { throw ValidationError("port must be 0…65535") }
        guard configuration.threads >= 0, configuration.maxBatchSize > 0, configuration.maxBodySize > 0,
            (1...64).contains(configuration.maxWritesInFlight)
        else {
            throw ValidationError(
                "threads, max batch size and max body size must be positive; max writes in flight 1…64")
        }
        guard configuration.maxBulkItems > 0, configuration.maxBulkBodySize > 0 else {
            throw ValidationError("MAX_BULK_ITEMS and MAX_BULK_BODY_SIZE must be positive")
        }
        // A bulk request is one statement and one commit: it must fit the writer's queue whole.
        guard configuration.maxBulkItems <= configuration.maxPendingPerLoop else {
            throw ValidationError("MAX_BULK_ITEMS must be at most \(configuration.maxPendingPerLoop)")
        }
        return configuration
    }
}
