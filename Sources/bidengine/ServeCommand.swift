import ArgumentParser
import BidService
import Foundation
import Logging
import Observability
import ServiceSettings
import Telemetry

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine serve`: the HTTP API. Flags win over environment variables, which win over defaults.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API: bids, their history, audits, competitor prices, health and metrics.",
        discussion: """
            Routes (every GET route answers HEAD too). The full contract is openapi.yaml, \
            in the repository and in share/bidengine after make install.
              POST /api/bid                       price a bid and record it
              POST /api/bids/batch                price and record many bids at once
              GET  /api/bids/{id}                 one recorded bid
              GET  /api/bids                      a product's bids in a time range
              GET  /api/audits                    audit runs, newest first
              GET  /api/audits/latest             the latest audit run
              GET  /api/audits/{id}               one audit run
              GET  /api/audits/{id}/report.html   its HTML report
              GET  /api/competitor-prices         a product's competitor prices
              GET  /api/competitor-prices/latest  the latest price per source
              GET  /healthz                       the process is alive
              GET  /readyz                        database reachable, schema current
              GET  /metrics                       Prometheus metrics
            With BIDENGINE_API_KEYS or BIDENGINE_API_KEYS_FILE, /api/* needs \
            Authorization: Bearer <key>; with no keys, /api/* is open.

            Database: DATABASE_URL (any libpq URI or key/value string; sslmode is honoured). \
            Without it, a private PostgreSQL cluster is started under <state-dir>/postgres \
            (unix socket only); the last bidengine process using it stops it. Migrations are \
            applied at start unless --no-migrate. While the database cannot be reached, start-up \
            retries with backoff (0.5 s doubling to 30 s) and logs each attempt; meanwhile the port \
            answers: /healthz 200, /readyz and /api/* 503. SIGTERM/SIGINT during start-up exit 0 at once.

            Environment: HOST, PORT, THREADS, DATABASE_URL, CONNECT_TIMEOUT (seconds, default 5; \
            connect_timeout in DATABASE_URL wins), MAX_BODY_SIZE, MAX_BULK_ITEMS, MAX_BULK_BODY_SIZE, REQUEST_TIMEOUT, IDLE_TIMEOUT, \
            FIRST_BYTE_TIMEOUT, DATABASE_TIMEOUT_MS, MAX_BATCH_SIZE, MAX_WRITES_IN_FLIGHT, SHUTDOWN_TIMEOUT, \
            SINGLE_BID_CONNECTION (true/false; default on: single bids get a database connection per \
            event loop of their own), BULK_RATE_BESIDE_SINGLES (bulk bids per second per event \
            loop while single bids arrive; default 5000; 0: unlimited), \
            BIDENGINE_STATE_DIR, BIDENGINE_MIGRATIONS_DIR, LOG_LEVEL (trace, debug, info, notice, \
            warning, error, critical), ACCESS_LOG (true/false, 1/0, on/off, yes/no; default on), \
            SERVER_TIMING (the same; default on), \
            BIDENGINE_API_KEYS (comma-separated bearer keys), BIDENGINE_API_KEYS_FILE (one key a \
            line: KEY, or KEY name=NAME rate=R burst=B; # starts a comment; a bad line, or a file \
            with no key, stops start-up with exit 64), API_KEY_RATE and API_KEY_BURST (the quota \
            in bids per second and bids of keys without their own; default unlimited; over \
            quota, 429 with Retry-After and RateLimit fields).

            Tracing: OpenTelemetry spans exported as OTLP/HTTP JSON when OTEL_EXPORTER_OTLP_ENDPOINT \
            (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER, \
            OTEL_TRACES_SAMPLER_ARG and the other OTEL_* variables of docs/operations.md apply.

            DATABASE_READ_URL: a hot-standby replica for reads (bid history, competitor prices, audit \
            listings and reports); reads fall back to the primary while it is down or lags by more than \
            READ_MAX_LAG (seconds, or 500ms; default 5). Writes always go to DATABASE_URL.

            Exit status: 0 after a clean stop (or a signal during start-up), 1 when it cannot \
            start, 64 for a bad flag or setting.
            """)

    @Option(parsing: .unconditional, help: "Address to listen on (env HOST; default 127.0.0.1).") var host: String?
    @Option(parsing: .unconditional, help: "Port (env PORT; default 8080; 0 = any free port).") var port: String?
    @Option(parsing: .unconditional, help: "Event-loop threads (env THREADS; default: one per core).") var threads:
        String?
    @Option(
        name: .customLong("max-body-size"),
        parsing: .unconditional,
        help: "Largest request body in bytes; larger gets 413 (env MAX_BODY_SIZE; default 65536).")
    var maxBodySize: String?
    @Option(
        name: .customLong("max-bulk-items"), parsing: .unconditional,
        help: "Most bids in one POST /api/bids/batch; more gets 413 (env MAX_BULK_ITEMS; default 1000).")
    var maxBulkItems: String?
    @Option(
        name: .customLong("max-bulk-body-size"), parsing: .unconditional,
        help: "Largest POST /api/bids/batch body in bytes; larger gets 413 (env MAX_BULK_BODY_SIZE; default 1048576).")
    var maxBulkBodySize: String?
    @Option(
        name: .customLong("request-timeout"),
        parsing: .unconditional,
        help: "Seconds a client has to send a whole request (env REQUEST_TIMEOUT; default 10).")
    var requestTimeout: String?
    @Option(
        name: .customLong("idle-timeout"),
        parsing: .unconditional,
        help: "Seconds an idle keep-alive connection stays open (env IDLE_TIMEOUT; default 60).")
    var idleTimeout: String?
    @Option(
        name: .customLong("first-byte-timeout"),
        parsing: .unconditional,
        help: "Seconds a new connection may stay silent before it is closed (env FIRST_BYTE_TIMEOUT; default 10).")
    var firstByteTimeout: String?
    @Option(
        name: .customLong("database-timeout-ms"),
        parsing: .unconditional,
        help: "Milliseconds a bid may wait for the database before 503 (env DATABASE_TIMEOUT_MS; default 1000).")
    var databaseTimeoutMilliseconds: String?
    @Option(
        name: .customLong("max-batch-size"),
        parsing: .unconditional,
        help: "Most bids written in one statement (env MAX_BATCH_SIZE; default 512).")
    var maxBatchSize: String?
    @Option(
        name: .customLong("max-writes-in-flight"),
        parsing: .unconditional,
        help: "Bid statements in flight at once per event loop (env MAX_WRITES_IN_FLIGHT; default 1).")
    var maxWritesInFlight: String?
    @Option(
        name: .customLong("shutdown-timeout"),
        parsing: .unconditional,
        help: "Seconds to drain on SIGTERM/SIGINT before closing (env SHUTDOWN_TIMEOUT; default 10).")
    var shutdownTimeout: String?
    @OptionGroup var database: DatabaseOptions
    @Flag(
        name: .customLong("bench-endpoints"),
        help: "Also serve GET/POST /bench/ceiling, a fixed response without the database (benchmarks only).")
    var benchEndpoints = false

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let configuration = try resolve(environment)
        JSONLogHandler.bootstrap(level: try CommonSettings.logLevel(environment) ?? .info)
        let logger = Logger(label: "bidengine.serve")
        for (key, value) in configuration.summary {
            logger.info("config", metadata: ["key": "\(key)", "value": "\(value)"])
        }

        // Peers that vanish mid-reply must not kill the process; signals are taken by SignalWaiter.
        signal(SIGPIPE, SIG_IGN)
        // Installed before anything starts: a signal while waiting for the database exits 0 at once.
        let shutdownSignals = SignalWaiter(signals: [SIGTERM, SIGINT]) { received in
            logger.notice("signal during startup; exiting", metadata: ["signal": "\(received)"])
        }
        let server = BidServer(configuration: configuration, logger: logger)
        server.isStopping = { shutdownSignals.isExiting }
        do {
            try server.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            server.shutdown()
            throw ExitCode(1)
        }
        shutdownSignals.started()
        let received = shutdownSignals.wait()
        logger.notice(
            "shutting down", metadata: ["signal": "\(received)", "deadline": "\(configuration.shutdownTimeout)"])
        server.shutdown()
        logger.notice("stopped")
    }

    func validate() throws {
        _ = try resolve(ProcessInfo.processInfo.environment)
    }

    /// Every setting, read once through the settings table; a bad one is a usage error (exit 64)
    /// that names it. Called from `validate()`, so nothing has started when it fails.
    private func resolve(_ environment: [String: String]) throws -> ServiceConfiguration {
        let settings = SettingReader(environment: environment)
        var configuration = ServiceConfiguration()
        do {
            configuration.host = try settings.value(Settings.host, flag: host)
            configuration.port = try settings.value(Settings.port, flag: port)
            configuration.threads = try settings.value(Settings.threads, flag: threads)
            configuration.maxBodySize = try settings.value(Settings.maxBodySize, flag: maxBodySize)
            configuration.maxBulkItems = try settings.value(Settings.maxBulkItems, flag: maxBulkItems)
            configuration.maxBulkBodySize = try settings.value(Settings.maxBulkBodySize, flag: maxBulkBodySize)
            configuration.requestTimeout = .seconds(try settings.value(Settings.requestTimeout, flag: requestTimeout))
            configuration.idleTimeout = .seconds(try settings.value(Settings.idleTimeout, flag: idleTimeout))
            configuration.firstByteTimeout = .seconds(
                try settings.value(Settings.firstByteTimeout, flag: firstByteTimeout))
            configuration.databaseTimeout = .milliseconds(
                try settings.value(Settings.databaseTimeout, flag: databaseTimeoutMilliseconds))
            configuration.maxBatchSize = try settings.value(Settings.maxBatchSize, flag: maxBatchSize)
            configuration.maxWritesInFlight = try settings.value(Settings.maxWritesInFlight, flag: maxWritesInFlight)
            configuration.singleBidConnection = try settings.value(Settings.singleBidConnection)
            configuration.bulkRateBesideSingles = try settings.value(Settings.bulkRateBesideSingles)
            configuration.shutdownTimeout = .seconds(
                try settings.value(Settings.shutdownTimeout, flag: shutdownTimeout))
            configuration.accessLog = try settings.value(Settings.accessLog)
            configuration.serverTiming = try settings.value(Settings.serverTiming)
            configuration.connectTimeoutSeconds = try settings.value(Settings.connectTimeout)
            _ = try settings.value(Settings.logLevel)
            configuration.databaseURL = try DatabaseLocator.checkedURL(Settings.databaseURL, from: settings)
            configuration.databasePooler = try settings.value(Settings.databasePooler)
            configuration.databaseDirectURL = try DatabaseLocator.checkedURL(Settings.databaseDirectURL, from: settings)
            configuration.readDatabaseURL = try DatabaseLocator.checkedURL(Settings.databaseReadURL, from: settings)
            configuration.readMaxLag = try settings.value(Settings.readMaxLag)
        } catch let error as SettingError {
            throw ValidationError(error.description)
        }
        do {
            configuration.tracing = try TracingSettings.fromEnvironment(environment)
            if let tracing = configuration.tracing { _ = try BidServer.traceSampler(for: tracing) }
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.stateDirectory = try database.location.resolvedStateDirectory(environment)
        configuration.migrationsDirectory = database.location.migrationsDirectory
        configuration.migrateOnStart = !database.noMigrate
        configuration.benchEndpoints = benchEndpoints
        do {
            let rate = try settings.value(Settings.apiKeyRate)
            let burst = try settings.value(Settings.apiKeyBurst)
            guard rate > 0 || burst == 0 else {
                throw ValidationError("API_KEY_BURST needs API_KEY_RATE (a burst without a rate limits nothing)")
            }
            let quota = rate > 0 ? Quota(rate: rate, burst: burst > 0 ? burst : rate) : nil
            configuration.apiKeys = try APIKeys.load(environment: environment, defaultQuota: quota)
        } catch let error as SettingError {
            throw ValidationError(error.description)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
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
