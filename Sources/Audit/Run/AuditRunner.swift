import BidCore
public import Logging
import Postgres
public import Scheduler
public import Telemetry
import TextFormats

/// Runs one audit where the bids are (`AuditSetScan`). When the window is read on the primary,
/// the primary does everything in the run's transaction (`AuditFlagSearch`): by pair, one
/// parallel aggregate of the window's distinct `(current_cpc, adjusted_cpc)` pairs gives the
/// deviation bands and the flagged pairs, which go straight to `audit_flag_pairs`, and one
/// parallel aggregate over the window's bids of those pairs gives the per-product summary; by
/// bid (nearly every bid a pair of its own), one parallel aggregate gives the bands and one
/// `INSERT … SELECT` applies the rule per bid and stores the flags one row per bid in
/// `audit_flags`. No bid travels. When it is read on a replica, `parallelism` read-only sessions
/// there stream only the flagged bids, each a contiguous time slice through a server-side cursor,
/// and the run's own session writes them with COPY into a temporary table of the run as they
/// arrive; one aggregate on the replica counts the bands. From
/// those flags, the flagged pairs, the per-product summary and the bounds of the flagged ids are
/// then computed; the flags themselves are not kept (reports read them from `bids` by join).
///
/// Memory in `bidengine` stays constant whatever the window holds: 13 band counts, and when
/// streaming, per stream one fetch of `batchSize` flagged rows and at most 16 MB of flag text
/// waiting to be written.
///
/// Everything a run writes is replaced in one transaction that holds the run row locked, so an
/// audit of an `as_of` that was audited before replaces the old results atomically, and two
/// attempts at the same `as_of` (two replicas, or a manual run during the nightly one) take turns
/// instead of doubling the flags. Blocking by design: call it from the scheduler's thread or the
/// command line, never from an event loop.
public struct AuditRunner: Sendable {
    public let connectionString: String
    /// Rows per `FETCH` when flags are streamed: large enough that round trips do not dominate,
    /// small enough to keep memory flat.
    public var batchSize = 10_000
    /// When flags are streamed: sessions reading the window's flags at once, each a contiguous
    /// time slice of it, besides the session that writes. Two keep two cores busy (a cursor's plan
    /// is never parallel); more only helps with more cores on the database side. The primary's
    /// own path is one statement at a time, with PostgreSQL's parallel workers where it may.
    public var parallelism = 2
    /// How the flagged bids are found and written (tests force each way; see `AuditFlagSearch`).
    public var flagSearch = AuditFlagSearch.automatic
    public var logger: Logger
    /// Where the window is scanned (the read replica or the primary) and the wait that makes
    /// the scan complete: see `AuditReadSource`.
    public var readSource = AuditReadSource()
    /// Called when a replica is configured but the scan ran on the primary, with the reason.
    public var onReadFallback: (@Sendable (String) -> Void)?
    /// Called every `progressInterval` while the audit runs (on a thread of its own). Streamed
    /// flags count up per fetch; the primary's own path counts the whole window once its pairs
    /// are read.
    public var progress: (@Sendable (AuditProgress) -> Void)?
    public var progressInterval: Duration = .seconds(5)
    /// Where the run's trace goes: a root span `audit` with one child per step (`AuditSpans`).
    public var tracer = Tracer.off

    public init(connectionString: String, logger: Logger = Logger(label: "bidengine.audit")) {
        self.connectionString = connectionString
        self.logger = logger
    }

    /// Audits `parameters.asOf` and returns the finished run. On failure the run is recorded as
    /// failed (unless an earlier attempt succeeded, whose results stay) and the error is thrown.
    public func run(_ parameters: AuditParameters, cancellation: JobCancellation? = nil) throws(AuditError)
        -> AuditRunRecord
    {
        var trace = tracer.startTrace("audit", attributes: AuditSpans.attributes(of: parameters))
        do {
            let session = try PostgresSession(connectionString: connectionString)
            defer { session.close() }
            let (runID, startedAt) = try trace.withChild(AuditSpans.claim) { span in
                try session.execute("SET application_name = 'bidengine audit'")
                let startedAt = try session.execute(AuditSQL.clock).scalar
                let runID = try claim(parameters, session: session)
                try session.execute(AuditSQL.holdRun, [String(runID)])
                let abandoned = try session.execute(AuditSQL.abandonDeadRuns, [String(runID)]).rows.count
                if abandoned > 0 {
                    logger.notice(
                        "runs left running by a process that ended are marked failed",
                        metadata: ["runs": "\(abandoned)"])
                }
                span.set(AuditSpans.runID, runID)
                span.set(AuditSpans.abandonedRuns, abandoned)
                return (runID, startedAt)
            }
            trace.set(AuditSpans.runID, runID)
            do {
                let source = try trace.withChild(AuditSpans.waitForCommits) { span in
                    let source = try readSource.choose(
                        asOf: parameters.asOf, primary: session, primaryConnectionString: connectionString,
                        cancellation: cancellation, logger: logger)
                    span.set(AuditSpans.readSource, source.onReplica ? "replica" : "primary")
                    if let reason = source.fallbackReason { span.set(AuditSpans.fallbackReason, reason) }
                    return source
                }
                if let reason = source.fallbackReason { onReadFallback?(reason) }
                try session.transaction { session in
                    try audit(
                        runID: runID, parameters: parameters, startedAt: startedAt, session: session,
                        scanConnectionString: source.connectionString, cancellation: cancellation, trace: &trace)
                }
            } catch {
                let failure = AuditError.wrapping(error)
                recordFailure(runID: runID, failure, session: session)
                throw failure
            }
            guard let record = try AuditRunRecord.first(of: session.execute(AuditSQL.runByID, [String(runID)])) else {
                throw AuditError.runNotFound(runID)
            }
            trace.set(AuditSpans.outcome, "succeeded")
            trace.end()
            return record
        } catch {
            let failure = AuditError.wrapping(error)
            if case .cancelled = failure {
                trace.set(AuditSpans.outcome, "cancelled")
            } else {
                trace.set(AuditSpans.outcome, "failed")
            }
            trace.end(error: failure.description)
            throw failure
        }
    }

    // MARK: Steps

    /// The run's id: a new row in state `running`, or the existing row of an earlier attempt.
    private func claim(_ parameters: AuditParameters, session: PostgresSession) throws -> Int64 {
        let inserted = try session.execute(
            AuditSQL.insertRun,
            [
                parameters.asOfText, String(parameters.window.seconds), parameters.rule.threshold.description,
                parameters.trigger.rawValue,
            ])
        // Nothing inserted: the row exists (this statement waited for a concurrent insert to commit).
        let result = inserted.rows.isEmpty ? try session.execute(AuditSQL.runIDByAsOf, [parameters.asOfText]) : inserted
        guard let id = result.scalar.flatMap({ Int64($0) }) else { throw AuditSQL.unreadable("audit_runs") }
        return id
    }

    private func audit(
        runID: Int64, parameters: AuditParameters, startedAt: String?, session: PostgresSession,
        scanConnectionString: String, cancellation: JobCancellation?, trace: inout TraceSpan
    ) throws {
        let run = String(runID)
        try trace.withChild(AuditSpans.clearEarlierResults) { _ in
            try session.execute(AuditSQL.lockRun, [run])
            try session.execute(AuditSQL.workMemory)
            for statement in AuditSQL.deleteResults { try session.execute(statement, [run]) }
            try session.execute(AuditSQL.createFound)
        }
        let window = [
            AuditTime.sqlText(parameters.windowStartMicroseconds), AuditTime.sqlText(parameters.asOfMicroseconds),
        ]
        // The planner's estimate of the window's bids (no rows read): a progress bar's scale, and
        // half of the automatic choice of how to find the flags.
        let estimatedBids = Self.planRows(Self.windowRows, window, session: session)
        let reporter = progress.map { report in
            let reporter = AuditProgressReporter()
            reporter.start(expected: estimatedBids, interval: progressInterval, report: report)
            return reporter
        }
        defer { reporter?.stop() }
        let search = chosenFlagSearch(
            window: window, estimatedBids: estimatedBids, session: session,
            onPrimary: scanConnectionString == connectionString)
        trace.set(AuditSpans.flagSearch, AuditSpans.name(of: search))
        if let estimatedBids { trace.set(AuditSpans.estimatedBids, estimatedBids) }
        let found =
            if search == .streamed {
                try streamFlags(
                    run: run, parameters: parameters, session: session, scanConnectionString: scanConnectionString,
                    cancellation: cancellation, progress: reporter, trace: trace)
            } else {
                try judgeInPlace(
                    run: run, parameters: parameters, byPair: search == .byPair, session: session,
                    cancellation: cancellation, progress: reporter, trace: trace)
            }
        reporter?.enter(.summarising)
        let reviewed = found.bands.reduce(0, +)
        logger.debug(
            "audit scanned",
            metadata: ["run_id": "\(runID)", "bids_reviewed": "\(reviewed)", "bids_flagged": "\(found.flagged)"])
        trace.set(AuditSpans.bidsReviewed, reviewed)
        trace.set(AuditSpans.bidsFlagged, found.flagged)
        try trace.withChild(AuditSpans.storeSummary) { _ in
            var bandParameters: [String?] = [run]
            for band in AuditDeviationBand.all {
                bandParameters += [String(band.index), band.label, String(found.bands[band.index])]
            }
            try session.execute(AuditSQL.insertBands(count: AuditDeviationBand.all.count), bandParameters)
            var bounds: [String?] = found.bounds ?? [nil, nil]
            if found.bounds == nil && found.flagged > 0 {
                try session.execute(AuditSQL.preferHashing)
                try session.execute(AuditSQL.insertProducts(from: AuditSQL.foundTable), [run])
                try session.execute(AuditSQL.insertFlagPairs, [run])
                bounds = try session.execute(AuditSQL.foundBounds).rows.first ?? bounds
            }
            try session.execute(
                AuditSQL.finishRun,
                [
                    run, String(parameters.window.seconds), parameters.rule.threshold.description,
                    parameters.trigger.rawValue,
                    startedAt, String(reviewed), String(found.flagged),
                ] + bounds)
        }
    }

    /// `flagSearch` made concrete: `.automatic` compares the planner's estimates (no rows read)
    /// of the window's bids and of its distinct price pairs.
    private func chosenFlagSearch(
        window: [String?], estimatedBids: Int?, session: PostgresSession, onPrimary: Bool
    ) -> AuditFlagSearch {
        guard onPrimary else { return .streamed }
        guard flagSearch == .automatic else { return flagSearch }
        guard let bids = estimatedBids,
            let pairs = Self.planRows(AuditSetScan.windowPairs, window, session: session)
        else { return .byPair }
        return pairs * 4 <= bids ? .byPair : .byBid
    }

    /// The window judged and its flags written by the primary alone, in the run's transaction.
    /// By pair: the window's distinct price pairs (one parallel scan into a temporary table) give
    /// the bands and the flagged pairs, and one `INSERT … SELECT` writes the bids of the flagged
    /// pairs. By bid: the bands are one parallel aggregate, and one `INSERT … SELECT` applies the
    /// rule to every bid. No bid leaves the server either way.
    private func judgeInPlace(
        run: String, parameters: AuditParameters, byPair: Bool, session: PostgresSession,
        cancellation: JobCancellation?, progress: AuditProgressReporter?, trace: TraceSpan
    ) throws -> Found {
        let start = AuditTime.sqlText(parameters.windowStartMicroseconds)
        let end = AuditTime.sqlText(parameters.asOfMicroseconds)
        if cancellation?.isCancelled == true { throw AuditError.cancelled }
        let bands: [Int64] = try trace.withChild(AuditSpans.readBids) { span in
            let bands: [Int64]
            if byPair {
                try session.execute(AuditSetScan.createPairs, [start, end])
                bands = try AuditSetScan.pairBandCounts(session: session, start: start, end: end)
            } else {
                bands = try AuditSetScan.bandCounts(session: session, start: start, end: end)
            }
            span.set(AuditSpans.bidsRead, bands.reduce(0, +))
            return bands
        }
        progress?.add(Int(bands.reduce(0, +)))
        progress?.enter(.writingFlags)
        return try trace.withChild(AuditSpans.writeFlags) { writing in
            if cancellation?.isCancelled == true { throw AuditError.cancelled }
            let threshold = parameters.rule.threshold.description
            guard byPair else {
                let inserted = try session.execute(AuditSetScan.insertFlagsByBid, [run, start, end, threshold])
                guard let flagged = inserted.affectedRows else { throw AuditSQL.unreadable("audit_flags") }
                writing.set(AuditSpans.flagsWritten, flagged)
                if flagged > 0 {
                    try session.execute(AuditSQL.preferHashing)
                    try session.execute(AuditSQL.insertProducts(from: AuditSQL.storedFlags), [run])
                }
                // Stored per bid: no bounds, so the reports read `audit_flags`.
                return Found(bands: bands, flagged: Int64(flagged), bounds: [nil, nil])
            }
            // By pair, the flags are never written one by one: the pairs go straight to
            // `audit_flag_pairs`, and one aggregate over the window's bids of those pairs gives the
            // per-product summary and the bounds of the flagged ids.
            let judged = try session.execute(AuditSetScan.insertPairFlags, [run, threshold]).rows.first ?? []
            guard judged.count == 3, let flagged = judged[0].flatMap({ Int64($0) }) else {
                throw AuditSQL.unreadable("audit_flag_pairs")
            }
            writing.set(AuditSpans.flagsWritten, flagged)
            guard flagged > 0 else { return Found(bands: bands, flagged: 0, bounds: [nil, nil]) }
            if cancellation?.isCancelled == true { throw AuditError.cancelled }
            try session.execute(AuditSQL.preferHashing)
            if judged[1] != nil, judged[2] != nil {
                try session.execute(AuditSetScan.createFlaggedProductsByPrices, [start, end, judged[1], judged[2]])
                try session.execute(AuditSetScan.insertFlaggedProductsByPrices, [run])
            } else {
                try session.execute(AuditSetScan.createFlaggedProducts, [run, start, end])
                try session.execute(AuditSetScan.insertFlaggedProducts, [run])
            }
            let bounds = try session.execute(AuditSetScan.flaggedBounds).rows.first ?? [nil, nil]
            return Found(bands: bands, flagged: flagged, bounds: bounds)
        }
    }

    /// What a way of finding flags leaves behind: the band counts, the number of flagged bids,
    /// and, when it has already written the run's pairs and products, the bounds of the flagged
    /// ids (nil: the flags are in `AuditSQL.foundTable`, to be summarised).
    struct Found {
        let bands: [Int64]
        let flagged: Int64
        let bounds: [String?]?
    }

    /// The window judged where it is read (a replica, or the primary with `.streamed`):
    /// worker sessions stream the flagged bids of their slices, and this session, which owns the
    /// run's transaction, writes them with COPY as they come, so writing overlaps reading.
    private func streamFlags(
        run: String, parameters: AuditParameters, session: PostgresSession, scanConnectionString: String,
        cancellation: JobCancellation?, progress: AuditProgressReporter?, trace: TraceSpan
    ) throws -> Found {
        let flagged = try trace.withChild(AuditSpans.streamFlags) { streaming in
            streaming.set(AuditSpans.streams, max(1, parallelism))
            let slices = Self.slices(
                from: parameters.windowStartMicroseconds, to: parameters.asOfMicroseconds, count: max(1, parallelism))
            let queue = AuditFlagQueue(workers: slices.count)
            defer { queue.stopAndWait() }
            for slice in slices {
                AuditStreamWorker(
                    connectionString: scanConnectionString, sliceStart: slice.start, sliceEnd: slice.end, runID: run,
                    rule: parameters.rule,
                    batchSize: batchSize, queue: queue, cancellation: cancellation, progress: progress
                ).launch()
            }
            while true {
                if cancellation?.isCancelled == true { throw AuditError.cancelled }
                let queued = try queue.takeNext()
                if queued.isEmpty { break }
                try session.copyIn(AuditSQL.copyFlags, chunks: queued)
            }
            progress?.enter(.summarising)
            var tally = AuditTally(runID: run)
            for slice in queue.workerTallies { tally.merge(slice) }
            streaming.set(AuditSpans.flagsWritten, tally.flagged)
            return tally.flagged
        }
        let bands = try trace.withChild(AuditSpans.readBids) { span in
            let bands = try bandCounts(
                parameters: parameters, session: session, scanConnectionString: scanConnectionString)
            span.set(AuditSpans.bidsRead, bands.reduce(0, +))
            return bands
        }
        return Found(bands: bands, flagged: flagged, bounds: nil)
    }

    /// The window's band counts, read where the flags were read: on the run's own session when the
    /// scan is on the primary, else on a session of the replica (the aggregate reads the whole
    /// window, the heaviest read of the run).
    private func bandCounts(parameters: AuditParameters, session: PostgresSession, scanConnectionString: String)
        throws -> [Int64]
    {
        let start = AuditTime.sqlText(parameters.windowStartMicroseconds)
        let end = AuditTime.sqlText(parameters.asOfMicroseconds)
        guard scanConnectionString != connectionString else {
            return try AuditSetScan.bandCounts(session: session, start: start, end: end)
        }
        let replica = try PostgresSession(connectionString: scanConnectionString)
        defer { replica.close() }
        try replica.execute("SET application_name = 'bidengine audit'")
        try replica.execute("SET work_mem = '64MB'")
        return try AuditSetScan.bandCounts(session: replica, start: start, end: end)
    }

    static let windowRows = "SELECT 1 FROM bids WHERE calculated_at >= $1 AND calculated_at < $2"

    /// The planner's row estimate for `sql` (its top node), or nil.
    private static func planRows(_ sql: String, _ parameters: [String?], session: PostgresSession) -> Int? {
        guard let plan = try? session.execute("EXPLAIN (FORMAT JSON) " + sql, parameters).scalar,
            let range = plan.range(of: "\"Plan Rows\": ")
        else { return nil }
        return Int(plan[range.upperBound...].prefix { $0.isNumber })
    }

    /// `[start, end)` cut into `count` contiguous slices of equal duration, as `timestamptz` input.
    static func slices(from start: Int64, to end: Int64, count: Int) -> [(start: String, end: String)] {
        let length = end - start
        let bounds = (0...count).map {
            start + length / Int64(count) * Int64($0) + length % Int64(count) * Int64($0) / Int64(count)
        }
        return (0..<count).map { (AuditTime.sqlText(bounds[$0]), AuditTime.sqlText(bounds[$0 + 1])) }
    }

    /// Best effort: the session may be the thing that failed, so a fresh one is tried too.
    private func recordFailure(runID: Int64, _ failure: AuditError, session: PostgresSession) {
        let parameters = [String(runID), failure.description]
        if (try? session.execute(AuditSQL.failRun, parameters)) != nil { return }
        guard let fresh = try? PostgresSession(connectionString: connectionString) else { return }
        defer { fresh.close() }
        _ = try? fresh.execute(AuditSQL.failRun, parameters)
    }
}
