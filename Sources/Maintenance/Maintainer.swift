public import Foundation
public import Logging
public import Metrics
public import Postgres
public import Scheduler
public import Telemetry

/// One maintenance pass over the database: `bidengine maintain` and the scheduler's daily job.
///
/// In order: audit runs past the audit retention, or whose window's bids the bid retention
/// removes (their flags are read from those bids), deleted; bids of `bids_default` past the bid
/// retention deleted in batches; partitions of `bids` for this month and the next two (those
/// missing), plus one for every month that still has rows in `bids_default`, which are moved into
/// it; then, past each retention, whole `bids` partitions detached and dropped, the older rows of
/// partitions that straddle the bid cutoff (`bids_legacy`) deleted in batches, and competitor
/// prices and poll runs deleted in batches. Bids go by whole UTC months: the cutoff is the month
/// start at or before now − `BIDS_RETENTION`, so after a pass no bid is older than the retention
/// plus one month, in any partition. Nothing younger than a retention is ever removed.
///
/// Safe to run from several places at once: a session-level advisory lock admits one pass, and a
/// second one reports itself skipped instead of waiting.
public struct Maintainer: Sendable {
    /// Session-level advisory lock key ("bidmaint" in ASCII).
    static let lockKey: Int64 = 0x6269_646D_6169_6E74
    /// Rows per DELETE: short transactions, short locks, WAL in small pieces.
    static let batchSize = 5_000
    /// Heap pages of `bids_default` per batch of a move: about 5,000 bids (some 110 fit a page).
    static let moveBlocks: Int64 = 45
    /// How long DETACH (which needs the parent's ACCESS EXCLUSIVE lock) may wait: waiting longer
    /// would queue every bid insert behind it. A pass that gives up retries the next day.
    static let lockTimeout = "2s"

    public let settings: MaintenanceSettings
    /// Called when a step starts and after each batch of a long step (on the pass's thread), at
    /// most once per `progressInterval` for the batches of one step; nil: no progress reports.
    public var progress: (@Sendable (MaintenanceProgress) -> Void)?
    public var progressInterval: Duration = .zero
    /// Set when `run`'s session comes through a transaction pooler: the connection string that
    /// reaches it. The pass's lock is then held by a transaction on a connection of its own
    /// (`AdvisoryLock`), and `lock_timeout` is not set (a session setting would stay on one server
    /// connection, under another client's statements, and miss the pass's own).
    public var transactionPooler: String?
    /// Where the pass's trace goes: a root span `maintenance` with one child per step
    /// (`MaintenanceSpans`).
    public var tracer = Tracer.off
    private let logger: Logger
    private let metricsFactory: (any MetricsFactory)?

    public init(
        settings: MaintenanceSettings, logger: Logger = Logger(label: "bidengine.maintenance"),
        metricsFactory: (any MetricsFactory)? = nil
    ) {
        self.settings = settings
        self.logger = logger
        self.metricsFactory = metricsFactory
    }

    /// One pass on `session` (which must not be inside a transaction). `now` is the instant the
    /// retentions count back from; `cancellation` is checked between actions.
    public func run(
        session: PostgresSession, dryRun: Bool, now: Date = Date(), cancellation: JobCancellation? = nil
    ) throws -> MaintenanceReport {
        var trace = tracer.startTrace(MaintenanceSpans.root, attributes: [(MaintenanceSpans.dryRun, .bool(dryRun))])
        do {
            let report = try pass(session: session, dryRun: dryRun, now: now, cancellation: cancellation, trace: trace)
            trace.set(MaintenanceSpans.skipped, report.skipped)
            trace.set(MaintenanceSpans.actions, report.actions.count)
            trace.set(MaintenanceSpans.outcome, report.skipped ? "skipped" : "succeeded")
            trace.end()
            return report
        } catch {
            trace.set(MaintenanceSpans.outcome, error is MaintenanceCancelled ? "cancelled" : "failed")
            trace.end(error: "\(error)")
            throw error
        }
    }

    private func pass(
        session: PostgresSession, dryRun: Bool, now: Date, cancellation: JobCancellation?, trace: TraceSpan
    ) throws -> MaintenanceReport {
        let lock = try AdvisoryLock.tryAcquire(
            "$1", [String(Self.lockKey)], session: session, pooler: transactionPooler == nil ? .none : .transaction,
            connectionString: transactionPooler ?? "")
        guard let lock else {
            logger.notice("maintenance skipped: another pass holds the lock")
            return MaintenanceReport(dryRun: dryRun, skipped: true, actions: [])
        }
        defer { lock.release() }
        if transactionPooler == nil { try session.execute("SET lock_timeout = '\(Self.lockTimeout)'") }
        var pass = Pass(
            session: session, dryRun: dryRun, now: Int64(now.timeIntervalSince1970.rounded(.down)),
            cancellation: cancellation, record: { action in self.record(action, dryRun: dryRun) },
            progress: progress, progressInterval: progressInterval)
        logger.info("maintenance started", metadata: ["dry_run": "\(dryRun)"])
        let bidCutoff = try settings.bids.map { try pass.bidCutoff($0) }
        if settings.audit != nil || bidCutoff != nil {
            try pass.step(MaintenanceSpans.deleteAuditRuns, in: trace) {
                try $0.deleteAuditRuns(olderThan: settings.audit, bidCutoff: bidCutoff)
            }
        }
        if let bidCutoff {
            try pass.step(MaintenanceSpans.deleteDefaultBids, in: trace) {
                try $0.deleteOldDefaultBids(before: bidCutoff)
            }
        }
        try pass.step(MaintenanceSpans.createPartitions, in: trace) { try $0.createPartitions(keptFrom: bidCutoff) }
        if let bidCutoff {
            try pass.step(MaintenanceSpans.dropPartitions, in: trace) { try $0.dropBidPartitions(before: bidCutoff) }
            try pass.step(MaintenanceSpans.deleteStraddlingBids, in: trace) {
                try $0.deleteOldBidsOfStraddlingPartitions(before: bidCutoff)
            }
        }
        if let retention = settings.competitorPrices {
            try pass.step(MaintenanceSpans.deleteCompetitorPrices, in: trace) {
                try $0.deleteInBatches(
                    "competitor_prices", key: "id", where: "observed_at < to_timestamp($1::bigint)",
                    olderThan: retention)
                try $0.deleteInBatches(
                    "poll_runs", key: "id", where: "started_at < to_timestamp($1::bigint) AND status <> 'running'",
                    olderThan: retention)
            }
        }
        logger.info("maintenance finished", metadata: ["dry_run": "\(dryRun)", "actions": "\(pass.actions.count)"])
        return MaintenanceReport(dryRun: dryRun, skipped: false, actions: pass.actions)
    }

    private func record(_ action: MaintenanceAction, dryRun: Bool) {
        logger.notice(
            dryRun ? "maintenance would act" : "maintenance acted",
            metadata: [
                "action": "\(action.kind.rawValue)", "table": "\(action.table)", "rows": "\(action.rows)",
                "estimated": "\(action.estimated)",
            ])
        guard !dryRun else { return }
        let factory = metricsFactory ?? MetricsSystem.factory
        let dimensions = [("action", action.kind.rawValue)]
        Counter(label: "bidengine_maintenance_actions_total", dimensions: dimensions, factory: factory).increment()
        Counter(label: "bidengine_maintenance_rows_total", dimensions: dimensions, factory: factory)
            .increment(by: action.rows)
    }
}
