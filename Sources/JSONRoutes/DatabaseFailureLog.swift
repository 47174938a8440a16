public import Logging
public import Postgres

/// Says why requests failed on the database: one `warning` line per failed statement or lost
/// connection, with PostgreSQL's SQLSTATE and message (passwords of the connection string masked)
/// and how many bids it failed, so that the 503 lines of the access log at that moment have a
/// cause; one `error` line per read that failed for a reason retrying cannot fix (a 500). An
/// outage or a broken schema fails every statement of every loop, so each loop logs at most
/// `Limit.lines` such lines per `Limit.interval`, writes and reads together; the failures beyond
/// are counted, and one "suppressed" line with their number follows when the interval ends.
///
/// One per event loop; use it only on that loop's thread.
public final class DatabaseFailureLog {
    public struct Limit {
        public var lines = 10
        public var interval: Duration = .seconds(10)

        public init(lines: Int = 10, interval: Duration = .seconds(10)) {
            self.lines = lines
            self.interval = interval
        }
    }

    private let logger: Logger
    private let loop: String
    private let connectionString: String
    private let limit: Limit
    private let reactor: any PostgresReactor
    private let now: () -> ContinuousClock.Instant
    private var intervalStart: ContinuousClock.Instant?
    private var linesThisInterval = 0
    private var suppressed = 0
    private var suppressedBids = 0
    private var summaryTimer: (any PostgresTimer)?

    /// `connectionString` is only read for the passwords to mask in messages.
    public init(
        logger: Logger, loop: String, connectionString: String, reactor: any PostgresReactor, limit: Limit = Limit(),
        now: @escaping () -> ContinuousClock.Instant = { .now }
    ) {
        self.logger = logger
        self.loop = loop
        self.connectionString = connectionString
        self.reactor = reactor
        self.limit = limit
        self.now = now
    }

    /// A loop that stops within an interval still says what it did not log.
    deinit {
        reportSuppressed()
    }

    /// A statement failed: `bids` bids (0 for a read) got no acknowledgement because of it.
    public func statementFailed(_ error: PostgresError, statement: String, bids: Int) {
        log("database statement failed", error, ["statement": "\(statement)", "bids": "\(bids)"], bids: bids)
    }

    /// The connection could not be made, or broke; everything on it failed.
    public func connectionFailed(_ error: PostgresError) {
        log("database connection failed", error, [:], bids: 0)
    }

    /// A read of `what` failed for a reason retrying cannot fix (a bug or bad data: its request
    /// got a 500); `request` joins the line to the request (its trace ids).
    public func readFailed(_ error: PostgresError, reading what: String, request: Logger.Metadata) {
        log("query failed reading \(what)", error, request, bids: 0, level: .error)
    }

    private func log(
        _ message: Logger.Message, _ error: PostgresError, _ extra: Logger.Metadata, bids: Int,
        level: Logger.Level = .warning
    ) {
        let instant = now()
        if let start = intervalStart, start.duration(to: instant) < limit.interval {
            guard linesThisInterval < limit.lines else {
                suppressed += 1
                suppressedBids += bids
                armSummary(at: start + limit.interval)
                return
            }
        } else {
            reportSuppressed()
            intervalStart = instant
            linesThisInterval = 0
        }
        linesThisInterval += 1
        var metadata = extra
        metadata["loop"] = "\(loop)"
        metadata["kind"] = "\(error.kind)"
        metadata["sqlstate"] = "\(error.sqlState ?? "")"
        metadata["error"] = "\(ConnectionString.redacting(error.message, connectionString: connectionString))"
        logger.log(level: level, message, metadata: metadata)
    }

    private func armSummary(at end: ContinuousClock.Instant) {
        guard summaryTimer == nil else { return }
        summaryTimer = reactor.after(max(now().duration(to: end), .zero)) { [weak self] in
            self?.summaryTimer = nil
            self?.reportSuppressed()
        }
    }

    /// The line that says how many failures went unlogged in the interval that ended.
    private func reportSuppressed() {
        summaryTimer?.cancel()
        summaryTimer = nil
        guard suppressed > 0 else { return }
        logger.warning(
            "database failures suppressed",
            metadata: [
                "loop": "\(loop)", "suppressed": "\(suppressed)", "bids": "\(suppressedBids)",
                "interval_s": "\(limit.interval.components.seconds)", "logged": "\(linesThisInterval)",
            ])
        suppressed = 0
        suppressedBids = 0
    }
}
