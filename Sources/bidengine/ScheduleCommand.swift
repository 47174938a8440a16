import ArgumentParser
import Audit
import BidCore
import BidService
import CompetitorPrices
import Foundation
import Logging
import Maintenance
import Observability
import Scheduler
import ServiceSettings

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine schedule`: the long-running scheduler process (the nightly audit, and the
/// competitor-price poller when sources are configured). Run as many replicas as you like: one is
/// active, the others stand by.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Run the nightly audit, daily maintenance and the competitor-price poller on one replica at a time.",
        discussion: """
            Every replica competes for a PostgreSQL advisory lock on a dedicated connection; the holder runs the \
            jobs, the others poll and take over when its connection ends. On becoming active, a missed nightly \
            audit (no succeeded run at the latest scheduled instant) runs at once. SIGTERM/SIGINT cancel the \
            running job at its next safe point, release the lock and exit 0.

            Environment: AUDIT_AT (HH:MM, default 02:00), AUDIT_TZ (IANA name, default UTC), AUDIT_WINDOW (default \
            7d), AUDIT_THRESHOLD (default 0.20), MAINTENANCE_AT (HH:MM in UTC, default 01:00; see bidengine maintain \
            --help for BIDS_RETENTION, COMPETITOR_PRICES_RETENTION, AUDIT_RETENTION), SHUTDOWN_TIMEOUT (seconds, default 10), DATABASE_URL, \
            BIDENGINE_STATE_DIR, BIDENGINE_MIGRATIONS_DIR, LOG_LEVEL, METRICS_HOST, METRICS_PORT; the poller runs when COMPETITOR_SOURCES is set \
            (see bidengine poll --help for POLL_INTERVAL and the other POLL_* variables). DATABASE_READ_URL, \
            AUDIT_SETTLE_MS, AUDIT_REPLICA_WAIT and AUDIT_REPLICA_BEHIND: where the audit scans, as for bidengine audit. \
            Tracing: the OTEL_* variables of serve; every job run is a trace (docs/operations.md).
            """)

    @Option(
        name: .customLong("audit-at"),
        parsing: .unconditional, help: "Local time of the nightly audit, HH:MM (env AUDIT_AT; default 02:00).")
    var auditAt: String?
    @Option(
        name: .customLong("audit-tz"),
        parsing: .unconditional,
        help: "IANA time zone of --audit-at, e.g. Europe/Berlin (env AUDIT_TZ; default UTC).")
    var auditTimeZone: String?
    @OptionGroup var rule: AuditCommand.RuleOptions
    @Option(
        name: .customLong("shutdown-timeout"),
        parsing: .unconditional,
        help: "Seconds to wait for the running job on SIGTERM (env SHUTDOWN_TIMEOUT; default 10).")
    var shutdownTimeout: String?
    @OptionGroup var database: DatabaseOptions
    @Option(
        name: .customLong("metrics-port"),
        parsing: .unconditional,
        help: "Serve GET /metrics and /healthz on this port (env METRICS_PORT; default: not served).")
    var metricsPort: String?
    @Option(
        name: .customLong("metrics-host"),
        parsing: .unconditional,
        help: "Address of the metrics endpoint (env METRICS_HOST; default 127.0.0.1).")
    var metricsHost: String?

    func validate() throws {
        _ = try settings(ProcessInfo.processInfo.environment)
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let settings = try settings(environment)
        JSONLogHandler.bootstrap(level: try CommonSettings.logLevel(environment) ?? .info)
        let logger = Logger(label: "bidengine.schedule")
        AuditCommand.keepFreedMemory()
        // Installed before anything starts: a signal while waiting for the database exits 0 at once.
        let shutdownSignals = SignalWaiter(signals: [SIGTERM, SIGINT]) { received in
            logger.notice("signal during startup; exiting", metadata: ["signal": "\(received)"])
        }

        let tracing = try CommandTracing.start(environment, logger: logger)
        defer { tracing.finish(logger: logger) }
        // Before the jobs exist: they take their metrics handles from the backend this installs.
        let metricsEndpoint = settings.metricsPort.map {
            MetricsEndpoint(host: settings.metricsHost, port: $0, traceExporter: tracing.exporter)
        }
        if let metricsEndpoint {
            let port = try metricsEndpoint.start()
            logger.notice("metrics endpoint serving", metadata: ["address": "\(settings.metricsHost):\(port)"])
        }
        defer { metricsEndpoint?.shutdown() }

        let database = try StartupRetry(isStopping: { shutdownSignals.isExiting }).run(logger: logger) {
            try self.database.open(environment: environment, common: settings.common)
        }
        defer { database.embedded?.stop() }
        // The leader lock is a session's, and the jobs run under it: all of it bypasses a transaction
        // pooler (checked in validate()).
        let connectionString = try database.sessionConnectionString(for: "The scheduler's leader lock")

        let audit = AuditJob(
            connectionString: connectionString, schedule: settings.schedule, window: settings.window,
            rule: settings.rule, readSource: settings.readSource,
            logger: Logger(label: "bidengine.audit"), tracer: tracing.tracer)
        // Checked in validate(): it cannot fail here.
        let maintenance = MaintenanceJob(
            connectionString: connectionString, schedule: settings.maintenanceSchedule,
            settings: settings.maintenance, tracer: tracing.tracer)
        let poller = try PollerJob.scheduled(
            environment: environment, connectionString: connectionString, tracer: tracing.tracer)
        let scheduler = Scheduler(
            configuration: SchedulerConfiguration(connectionString: connectionString),
            jobs: [audit, maintenance] + poller,
            logger: logger)
        logger.notice(
            "starting",
            metadata: [
                "audit": "\(settings.schedule)", "window": "\(settings.window)",
                "threshold": "\(settings.rule.threshold)", "maintenance": "\(settings.maintenanceSchedule)",
            ])
        scheduler.start()
        shutdownSignals.started()
        let received = shutdownSignals.wait()
        logger.notice("shutting down", metadata: ["signal": "\(received)", "timeout_s": "\(settings.shutdownTimeout)"])
        if !scheduler.shutdown(timeout: .seconds(settings.shutdownTimeout)) {
            // Exiting drops the connections: PostgreSQL rolls the job's transaction back and frees the lock.
            logger.warning("the running job did not stop in time; exiting anyway (its transaction is rolled back)")
        }
    }

    private struct Settings {
        let schedule: DailySchedule
        let window: AuditWindow
        let rule: AuditRule
        let shutdownTimeout: Int
        let metricsHost: String
        let metricsPort: Int?
        let common: CommonSettings
        let readSource: AuditReadSource
        let maintenanceSchedule: DailySchedule
        let maintenance: MaintenanceSettings
    }

    private func settings(_ environment: [String: String]) throws -> Settings {
        let reader = SettingReader(environment: environment)
        let time: WallClockTime
        let zone: TimeZone
        let maintenanceTime: WallClockTime
        do {
            time = try reader.value(ServiceSettings.Settings.auditAt, flag: auditAt)
        } catch {
            throw ValidationError(error.naming("AUDIT_AT / --audit-at").description)
        }
        do {
            zone = try reader.value(ServiceSettings.Settings.auditTimeZone, flag: auditTimeZone)
        } catch {
            throw ValidationError(error.naming("AUDIT_TZ / --audit-tz").description)
        }
        let (window, rule) = try self.rule.resolve(environment)
        let timeout: Int
        let metricsPort: Int?
        let metricsHost: String
        let common = try CommonSettings.read(environment)
        try common.requireSession(for: "The scheduler's leader lock")
        do {
            timeout = try reader.value(ServiceSettings.Settings.shutdownTimeout, flag: shutdownTimeout)
            metricsPort = try reader.optional(ServiceSettings.Settings.metricsPort, flag: self.metricsPort)
            metricsHost = try reader.value(ServiceSettings.Settings.metricsHost, flag: self.metricsHost)
            _ = try PollerConfiguration.fromEnvironment(environment)
            maintenanceTime = try reader.value(ServiceSettings.Settings.maintenanceAt)
            _ = try CommandTracing.settings(environment)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        let maintenance: MaintenanceSettings
        do {
            maintenance = try MaintenanceSettings(environment: environment)
        } catch {
            throw ValidationError("\(error)")
        }
        return Settings(
            schedule: DailySchedule(at: time, in: zone), window: window, rule: rule, shutdownTimeout: timeout,
            metricsHost: metricsHost, metricsPort: metricsPort, common: common,
            readSource: try AuditCommand.readSource(environment),
            maintenanceSchedule: DailySchedule(at: maintenanceTime, in: .gmt),
            maintenance: maintenance)
    }
}
