import Audit
import CompetitorPrices
import Foundation
public import HTTPServer
import JSONRoutes
public import Logging
import Observability
import Postgres
import ServiceSettings
import Synchronization
import Telemetry

/// `bidengine serve`: database first (embedded or `DATABASE_URL`, migrated), then one HTTP event
/// loop per core, each with its own PostgreSQL connection and bid writer.
public final class BidServer: @unchecked Sendable {
    private let configuration: ServiceConfiguration
    private let logger: Logger
    private var http: HTTPServer?
    private var database: DatabaseLocator.Resolved?
    private var exporter: OTLPExporter?

    /// Asked before each start-up retry is logged: true once a signal is ending the process, so
    /// that its last line is the signal's, not a retry that will never happen.
    public var isStopping: @Sendable () -> Bool = { false }

    public init(configuration: ServiceConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The port actually bound (useful with port 0).
    public var port: Int { http?.boundPort ?? 0 }

    public var httpServer: HTTPServer? { http }

    /// Binds the port and starts the loops with the `StartupGate` closed (`/healthz` answers, `/readyz`
    /// and `/api/*` answer 503), then resolves and migrates the database (retrying while it cannot
    /// be reached), then opens the gate: the loops connect and serve. A busy port fails first and
    /// fast; the blocking database work runs on the calling thread, never on a loop.
    public func start() throws {
        var httpConfiguration = HTTPServerConfiguration()
        httpConfiguration.host = configuration.host
        httpConfiguration.port = configuration.port
        if configuration.threads > 0 { httpConfiguration.threads = configuration.threads }
        httpConfiguration.maxBodySize = configuration.maxBodySize
        httpConfiguration.requestTimeout = configuration.requestTimeout
        httpConfiguration.idleTimeout = configuration.idleTimeout
        httpConfiguration.firstByteTimeout = configuration.firstByteTimeout
        var spans: WritePathSpans?
        if let tracing = configuration.tracing {
            let buffer = SpanBuffer(capacity: tracing.maxQueueSize)
            let exporter = OTLPExporter(
                configuration: tracing.exporter, buffer: buffer, encoder: OTLPJSONEncoder(resource: tracing.resource))
            httpConfiguration.traceSampler = try Self.traceSampler(for: tracing)
            spans = WritePathSpans(buffer: buffer)
            self.exporter = exporter
            exporter.start()
            logger.notice(
                "tracing on",
                metadata: [
                    "endpoint": "\(tracing.exporter.endpoint.absoluteString)", "sampler": "\(tracing.samplerName)",
                    "sampler_arg": "\(tracing.samplerArgument ?? "")", "service": "\(tracing.serviceName)",
                ])
        }
        httpConfiguration.exchangeObserver = Self.observer(
            accessLog: configuration.accessLog, logger: logger, spans: spans)
        let configuration = self.configuration
        let exporter = self.exporter
        let loopSpans = spans
        let logger = self.logger
        let setup = LoopSetup()
        if !configuration.apiKeys.isEmpty {
            _ = ServiceMetrics.shared
            let keyMetrics = KeyMetrics(keys: configuration.apiKeys)
            setup.keyMetrics = keyMetrics
            setup.quotas = QuotaGate(keys: configuration.apiKeys, metrics: keyMetrics)
        }
        let httpServer = ServerReference()
        let server = HTTPServer(configuration: httpConfiguration) { loop in
            LoopServices(
                loop: loop, connection: setup.connection!, replica: setup.replica, configuration: configuration,
                expectedSchemaVersion: setup.expectedSchemaVersion, logger: logger, server: httpServer,
                quotas: setup.quotas, keyMetrics: setup.keyMetrics,
                gate: setup.gate, spans: loopSpans, exporter: exporter
            ).router()
        }
        httpServer.server = server
        http = server
        let port = try server.bind()
        logger.info("listening socket bound", metadata: ["address": "\(httpConfiguration.host):\(port)"])

        let migrationsDirectory = try DatabaseLocator.migrationsDirectory(explicit: configuration.migrationsDirectory)
        let migrations = try MigrationRunner.load(directory: migrationsDirectory)
        setup.expectedSchemaVersion = migrations.last?.version ?? 0
        try prepareConnections(
            setup,
            databaseConnectionString: try DatabaseLocator.connectionString(
                databaseURL: configuration.databaseURL, stateDirectory: configuration.stateDirectory,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds))
        try server.start()
        logger.notice(
            "listening; waiting for the database (/healthz answers, /readyz and /api/* answer 503 until it is ready)",
            metadata: ["address": "\(httpConfiguration.host):\(server.boundPort)"])

        let database = try StartupRetry(isStopping: isStopping).run(logger: logger) {
            let database = try DatabaseLocator.resolve(
                databaseURL: configuration.databaseURL, stateDirectory: configuration.stateDirectory,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds, pooler: configuration.databasePooler,
                directURL: configuration.databaseDirectURL)
            do {
                if configuration.migrateOnStart {
                    let applied = try DatabaseLocator.migrate(database, migrationsDirectory: migrationsDirectory)
                    logger.info(
                        "migrations current",
                        metadata: ["applied_now": "\(applied)", "directory": "\(migrationsDirectory)"])
                }
            } catch {
                database.embedded?.stop()
                throw error
            }
            return database
        }
        self.database = database
        if configuration.apiKeys.isEmpty {
            logger.warning(
                "NO API KEYS CONFIGURED: /api/* is open to anyone who can reach this port (set BIDENGINE_API_KEYS or BIDENGINE_API_KEYS_FILE)"
            )
        }

        setup.gate.open()
        logger.notice(
            "serving",
            metadata: [
                "address": "\(httpConfiguration.host):\(server.boundPort)", "threads": "\(httpConfiguration.threads)",
            ])
    }

    /// The loops' connection settings, known before the database is reachable: the connection
    /// string does not depend on it (an embedded cluster's socket path follows its state directory).
    private func prepareConnections(_ setup: LoopSetup, databaseConnectionString: String) throws {
        let configuration = self.configuration
        // Without incremental sort the history statement keeps to the (product_id, calculated_at) index
        // even for a product with no bids in the asked window; with it, PostgreSQL 15 may walk the
        // calculated_at index over the whole window instead (300 ms against 0.01 ms: docs/query-plans.md).
        // A transaction pooler refuses startup `options` and keeps no session: there the setting
        // belongs to the database (`ALTER DATABASE … SET enable_incremental_sort = off`, docs/scaling.md).
        // The embedded cluster is never behind a pooler (as `DatabaseLocator.resolve` decides).
        let pooler = (configuration.databaseURL ?? "").isEmpty ? ConnectionPooler.none : configuration.databasePooler
        let pooled = !pooler.keepsSessions
        let servingConnectionString = try ConnectionString.addingSessionDefaults(
            to: databaseConnectionString, applicationName: "bidengine",
            settings: pooled ? [] : [(name: "enable_incremental_sort", value: "off")])
        var connectionConfiguration = PostgresConnection.Configuration(connectionString: servingConnectionString)
        connectionConfiguration.namedStatements = !pooled
        connectionConfiguration.statementTimeout = configuration.databaseTimeout
        // Room beside the bid statements for idempotency lookups and the read routes.
        connectionConfiguration.maxInFlight = configuration.maxWritesInFlight + 4
        // The loops connect without blocking (PQconnectStart), which libpq does not time; their own
        // timer enforces the same limit as every blocking connection.
        connectionConfiguration.connectTimeout =
            ConnectionString.connectTimeout(in: servingConnectionString)
            ?? .seconds(configuration.connectTimeoutSeconds)
        setup.connection = connectionConfiguration
        if let readURL = configuration.readDatabaseURL {
            let readConnectionString = try ConnectionString.addingSessionDefaults(
                to: readURL, applicationName: "bidengine read",
                settings: [(name: "enable_incremental_sort", value: "off")])
            var replicaConfiguration = PostgresConnection.Configuration(connectionString: readConnectionString)
            replicaConfiguration.statementTimeout = configuration.databaseTimeout
            replicaConfiguration.connectTimeout =
                ConnectionString.connectTimeout(in: readConnectionString)
                ?? .seconds(configuration.connectTimeoutSeconds)
            setup.replica = replicaConfiguration
            logger.notice(
                "reads go to the replica while it lags by at most READ_MAX_LAG",
                metadata: [
                    "replica": "\(ConnectionStringMask.mask(readURL))", "read_max_lag": "\(configuration.readMaxLag)",
                ])
        }
    }

    /// Metrics for every answered request, and the access log line when enabled.
    private static func observer(accessLog: Bool, logger: Logger, spans: WritePathSpans?)
        -> @Sendable (HTTPExchange) -> Void
    {
        let metrics = ServiceMetrics.shared
        var accessLogger = logger
        accessLogger[metadataKey: "type"] = "access"
        let access = accessLogger
        return { exchange in
            metrics.record(exchange)
            spans?.recordRequest(exchange)
            // The line is built only when the log level lets it out: its fields are formatted
            // on every answer otherwise, to be dropped (LOG_LEVEL=warning, say).
            guard accessLog, access.logLevel <= .info else { return }
            var metadata = Logger.Metadata(minimumCapacity: 7 + exchange.logFields.count)
            metadata["method"] = "\(exchange.method.rawValue)"
            metadata["path"] = "\(exchange.path)"
            metadata["status"] = "\(exchange.status)"
            metadata["duration_ms"] = "\(exchange.duration.milliseconds)"
            metadata["request_id"] = "\(exchange.requestID)"
            metadata.merge(exchange.trace.logMetadata) { _, trace in trace }
            // A bulk request's item counts (items, stored, rejected).
            for (key, value) in exchange.logFields { metadata[key] = "\(value)" }
            access.info("request", metadata: metadata)
        }
    }

    /// Graceful: stop accepting, answer what is in flight (bids in a batch are committed and
    /// acknowledged), close the database connections, stop the embedded cluster if we started it.
    public func shutdown() {
        http?.shutdown(deadline: configuration.shutdownTimeout)
        http = nil
        exporter?.shutdown()
        exporter = nil
        database?.embedded?.stop()
        database = nil
    }
}

/// What one event loop owns: its database connection, its bid writer, its routes.
struct LoopServices {
    let loop: EventLoop
    let connection: PostgresConnection.Configuration
    /// The read replica's connection, when `DATABASE_READ_URL` is set.
    let replica: PostgresConnection.Configuration?
    let configuration: ServiceConfiguration
    let expectedSchemaVersion: Int
    let logger: Logger
    let server: ServerReference
    /// Per-key quotas and counters, shared by the loops; nil when no key is configured.
    let quotas: QuotaGate?
    let keyMetrics: KeyMetrics?
    let gate: StartupGate
    /// Where sampled requests' spans go; nil while tracing is off.
    let spans: WritePathSpans?
    let exporter: OTLPExporter?

    func router() -> Router {
        let logger = self.logger
        let metrics = ServiceMetrics.shared
        let failures = DatabaseFailureLog(
            logger: logger, loop: loop.name, connectionString: self.connection.connectionString,
            reactor: LoopReactor(loop: loop))
        let onEvent: (PostgresConnection.Event) -> Void = { event in
            switch event {
            case .connected: logger.info("database connected", metadata: ["loop": "\(loop.name)"])
            case .connectionFailed(let error):
                metrics.reconnects.increment()
                failures.connectionFailed(error)
            case .reconnectScheduled(let delay):
                logger.debug("database reconnect scheduled", metadata: ["after": "\(delay)"])
            }
        }
        let connection = PostgresConnection(
            configuration: self.connection, reactor: LoopReactor(loop: loop), onEvent: onEvent)
        gate.whenOpen(on: loop) { connection.start() }
        // Single bids' own connection: they never wait for a bulk statement in flight.
        let singleBidConnection =
            configuration.singleBidConnection
            ? PostgresConnection(configuration: self.connection, reactor: LoopReactor(loop: loop), onEvent: onEvent)
            : nil
        if let singleBidConnection { gate.whenOpen(on: loop) { singleBidConnection.start() } }
        let writer = BidWriter(
            connection: connection, singleBidConnection: singleBidConnection, maxBatch: configuration.maxBatchSize,
            maxPending: configuration.maxPendingPerLoop, maxInFlight: configuration.maxWritesInFlight)
        if configuration.bulkRateBesideSingles > 0 {
            writer.limitBulk(toBidsPerSecond: configuration.bulkRateBesideSingles) {
                delay, body in _ = loop.schedule(after: delay, body)
            }
        }
        writer.onStatementFailed = { error, statement, bids in
            failures.statementFailed(error, statement: statement, bids: bids)
        }
        writer.onBatchFinished = { size, roundTrip, succeeded in
            metrics.batchSize.record(size)
            metrics.batchRoundTrip.recordNanoseconds(roundTrip.nanoseconds)
            if !succeeded { metrics.batchFailures.increment() }
        }
        writer.onQueueWait = { lane, waited in metrics.queueWait[lane.rawValue].recordNanoseconds(waited.nanoseconds) }
        if let spans {
            let loopName = loop.name
            writer.onTracedStatementFinished = { statement, timing, rows, succeeded in
                spans.recordStatement(statement, timing: timing, rows: rows, succeeded: succeeded, loop: loopName)
            }
        }
        let reader = readRouter(primary: connection, failures: failures)
        var router = Router()
        BidRoutes(
            recorder: writer, retryAfterSeconds: 1, quotas: quotas, serverTiming: configuration.serverTiming,
            spans: spans
        ).register(into: &router)
        BulkBidRoutes(
            recorder: writer, retryAfterSeconds: 1, maxItems: configuration.maxBulkItems,
            maxBodySize: configuration.maxBulkBodySize, metrics: metrics.bulk, quotas: quotas,
            serverTiming: configuration.serverTiming, spans: spans
        ).register(into: &router)
        BidHistoryRoutes(connection: reader, logger: logger, failures: failures).register(into: &router)
        AuditRoutes(connection: reader, logger: logger, failures: failures).register(into: &router)
        CompetitorPriceRoutes(connection: reader, logger: logger, failures: failures).register(into: &router)
        if server.claimSweeper() {
            // One sweeper per process is enough; it lives (and dies) with loop 0's router.
            let sweeper = IdempotencyKeySweeper(
                connection: PostgresConnection(configuration: self.connection, reactor: LoopReactor(loop: loop)),
                reactor: LoopReactor(loop: loop), retention: configuration.idempotencyRetention,
                interval: configuration.idempotencySweepInterval)
            sweeper.onSweep = { deleted in
                if deleted > 0 { logger.info("expired idempotency keys deleted", metadata: ["count": "\(deleted)"]) }
            }
            gate.whenOpen(on: loop) { sweeper.start() }
            router.retain(sweeper)
        }
        let server = self.server
        let exporter = self.exporter
        router.add(.GET, "/metrics") { _, responder in
            responder.respond(
                PrometheusBackend.exposition(
                    metrics.render(server: server.server) + TraceExportMetrics.exposition(exporter)))
        }
        HealthRoutes(
            connection: connection, reader: reader, expectedSchemaVersion: expectedSchemaVersion, startup: gate
        ).register(into: &router)
        if configuration.benchEndpoints {
            // The same response size as a bid answer, built once: what the HTTP layer alone can do.
            let fixed = JSONResponse.ok(Array(#"{"bid_id":1,"adjusted_cpc":2.25}"#.utf8))
            router.add(.GET, "/bench/ceiling") { _, responder in responder.respond(fixed) }
            router.add(.POST, "/bench/ceiling") { _, responder in responder.respond(fixed) }
        }
        router.wrapHandlers(where: { $0.hasPrefix("/api/") }, gate.guarding)
        if !configuration.apiKeys.isEmpty {
            let keyMetrics = self.keyMetrics
            router.wrapHandlers(
                where: { $0.hasPrefix("/api/") },
                configuration.apiKeys.authenticating(admitted: { keyMetrics?.admitted($0) }))
        }
        return router
    }

    /// Reads (history, competitor prices, audits) go through this: to the replica when one is
    /// configured, connected and within `READ_MAX_LAG`, else to the loop's primary connection.
    /// Fallbacks are counted per read and logged when the replica's usability changes.
    private func readRouter(primary: PostgresConnection, failures: DatabaseFailureLog) -> PostgresReadRouter {
        let logger = self.logger
        let loop = self.loop
        let metrics = ServiceMetrics.shared
        let replica = self.replica.map { configuration in
            PostgresConnection(configuration: configuration, reactor: LoopReactor(loop: loop)) { event in
                switch event {
                case .connected: logger.info("read replica connected", metadata: ["loop": "\(loop.name)"])
                case .connectionFailed(let error):
                    metrics.replicaConnectionFailures.increment()
                    logger.warning(
                        "read replica connection failed", metadata: ["loop": "\(loop.name)", "error": "\(error)"])
                case .reconnectScheduled: break
                }
            }
        }
        let reader = PostgresReadRouter(
            primary: primary, replica: replica, reactor: LoopReactor(loop: loop), maxLag: configuration.readMaxLag
        ) { event in
            switch event {
            case .fellBack(let reason): metrics.readFallbacks[reason]?.increment()
            case .lagMeasured(let lag): metrics.replicaLag.record(Double(lag.nanoseconds) / 1e9)
            case .readFailed(let error): failures.statementFailed(error, statement: "read", bids: 0)
            case .replicaUsable(let usable, let reason):
                metrics.replicaInUse.record(usable ? 1 : 0)
                if usable {
                    logger.notice("reads go to the replica", metadata: ["loop": "\(loop.name)"])
                } else {
                    logger.warning(
                        "reads fall back to the primary",
                        metadata: ["loop": "\(loop.name)", "reason": "\(reason?.rawValue ?? "unknown")"])
                }
            }
        }
        reader.start()
        return reader
    }
}

/// The server, once created: routes are built inside its initialiser's callback, before the
/// `HTTPServer` value exists, and `/metrics` reads its connection gauges.
/// What the loops need that is known only once the database is ready; written on the starting
/// thread before `HTTPServer.start()`, read-only once the loops exist.
final class LoopSetup: @unchecked Sendable {
    var connection: PostgresConnection.Configuration?
    /// The read replica's connection, when `DATABASE_READ_URL` is set.
    var replica: PostgresConnection.Configuration?
    var expectedSchemaVersion = 0
    var quotas: QuotaGate?
    var keyMetrics: KeyMetrics?
    let gate = StartupGate()
}

final class ServerReference: @unchecked Sendable {
    // Written once on the starting thread before any request can arrive; read-only afterwards.
    // Weak: the server owns the router factory that owns this reference, and a strong link back
    // made a cycle that kept every loop, router and connection alive after shutdown (LeakSanitizer).
    weak var server: HTTPServer?
    private let sweeperClaimed = Mutex(false)

    /// True for exactly one loop: the one that runs the idempotency-key sweeper.
    func claimSweeper() -> Bool {
        sweeperClaimed.withLock { claimed in
            defer { claimed = true }
            return !claimed
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        // `components` divides a 128-bit count: read it once.
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
