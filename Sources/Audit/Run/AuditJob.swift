public import BidCore
public import Foundation
public import Logging
public import Metrics
import Postgres
public import Scheduler
public import Telemetry
import TextFormats

/// The nightly audit as a scheduled job: audits the window ending at the scheduled instant.
///
/// A scheduled instant with no succeeded run (the scheduler was down, or the run failed) is
/// caught up when a scheduler becomes active; manual runs at other instants do not count.
public struct AuditJob: ScheduledJob {
    public let name = "audit"
    public let schedule: any JobSchedule
    public let window: AuditWindow
    public let rule: AuditRule
    let runner: AuditRunner
    private let reviewed: Gauge
    private let flagged: Gauge

    public init(
        connectionString: String, schedule: any JobSchedule, window: AuditWindow = .legacy, rule: AuditRule = .legacy,
        readSource: AuditReadSource = AuditReadSource(),
        logger: Logger = Logger(label: "bidengine.audit"), metricsFactory: (any MetricsFactory)? = nil,
        tracer: Tracer = .off
    ) {
        self.schedule = schedule
        self.window = window
        self.rule = rule
        let factory = metricsFactory ?? MetricsSystem.factory
        var runner = AuditRunner(connectionString: connectionString, logger: logger)
        runner.readSource = readSource
        runner.tracer = tracer
        // Scans that ran on the primary although a replica is configured (it was down or behind).
        let fallbacks = Counter(label: "bidengine_audit_read_fallbacks_total", factory: factory)
        runner.onReadFallback = { _ in fallbacks.increment() }
        self.runner = runner
        // The last scheduled run's counts, for "bids flagged last night" dashboards and alerts.
        reviewed = Gauge(label: "bidengine_audit_bids_reviewed", factory: factory)
        flagged = Gauge(label: "bidengine_audit_bids_flagged", factory: factory)
    }

    public func needsCatchUp(scheduledAt: Date) throws -> Bool {
        let session = try PostgresSession(connectionString: runner.connectionString)
        defer { session.close() }
        let asOf = AuditTime.sqlText(AuditTime.microseconds(scheduledAt))
        return try session.execute(AuditSQL.succeededAt, [asOf]).scalar != "t"
    }

    public func run(_ context: JobContext) throws -> Logger.Metadata {
        let parameters = AuditParameters(asOf: context.scheduledAt, window: window, rule: rule, trigger: .schedule)
        let run = try runner.run(parameters, cancellation: context.cancellation)
        reviewed.record(run.bidsReviewed ?? 0)
        flagged.record(run.bidsFlagged ?? 0)
        return [
            "run_id": "\(run.id)", "as_of": "\(run.asOfText)", "window": "\(run.window)",
            "threshold": "\(run.threshold)",
            "bids_reviewed": "\(run.bidsReviewed ?? 0)", "bids_flagged": "\(run.bidsFlagged ?? 0)",
        ]
    }
}
