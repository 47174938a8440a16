import Foundation
import Logging
import Postgres
import Scheduler
import TextFormats

/// Decides where an audit scans the window, and makes sure the scan sees every acknowledged bid.
///
/// A bid's `calculated_at` is its transaction's start, and its commit may come up to the bid
/// deadline later (`DATABASE_TIMEOUT_MS`: a bid is answered 503 and its connection dropped when
/// it takes longer, so no acknowledged bid commits later than that). A snapshot taken before
/// `as_of + settle` could miss a bid stamped just before `as_of`, so the scan starts only after
/// it, by the primary's clock (the clock that stamps `calculated_at`). A run for an older
/// `as_of` does not wait.
///
/// On a replica, every commit before that moment must also have been replayed: the primary's
/// `pg_current_wal_lsn()` is taken after the settle time, and the replica is polled until
/// `pg_last_wal_replay_lsn()` reaches it. If it does not within `replicaWaitLimit`, the scan
/// runs on the primary (`AUDIT_REPLICA_BEHIND=primary`, the default) or the run fails
/// (`fail`). It never scans a replica that may be missing acknowledged bids.
///
/// A separate step from the scan, so it holds whatever the scan is. Blocking: the audit's thread.
public struct AuditReadSource: Sendable {
    public enum WhenBehind: String, Sendable, CaseIterable {
        case primary
        case fail
    }

    /// What was decided, for the log and the metrics.
    public struct Choice: Sendable {
        public let connectionString: String
        public let onReplica: Bool
        /// Why the primary was used although a replica is configured.
        public let fallbackReason: String?
        public let settleWait: Duration
        public let replayWait: Duration
    }

    /// The replica to scan (`DATABASE_READ_URL`); nil = scan the primary.
    public var replicaConnectionString: String?
    /// Longest a bid statement may run, plus a margin (`AUDIT_SETTLE_MS`; default the default
    /// `DATABASE_TIMEOUT_MS` of 1 s plus 1 s).
    public var settle: Duration = .seconds(2)
    /// How long to wait for the replica to replay up to the primary (`AUDIT_REPLICA_WAIT`).
    public var replicaWaitLimit: Duration = .seconds(60)
    public var whenBehind: WhenBehind = .primary
    /// How often the replica's replay position is polled.
    public var pollInterval: Duration = .milliseconds(50)
    /// libpq `connect_timeout` for every session on the replica (`CONNECT_TIMEOUT`), unless
    /// `replicaConnectionString` sets its own: a replica that accepts TCP and never answers makes
    /// the audit fall back to the primary instead of hanging.
    public var connectTimeoutSeconds = 5

    public init(replicaConnectionString: String? = nil) {
        self.replicaConnectionString = replicaConnectionString
    }

    /// Microseconds from the primary's clock now until `as_of + settle` (negative when passed).
    static let settleRemainingSQL = """
        SELECT (EXTRACT(EPOCH FROM ($1::timestamptz + make_interval(secs => $2::bigint / 1000000.0))
                - clock_timestamp()) * 1000000)::bigint
        """
    static let inRecoverySQL = "SELECT pg_is_in_recovery()"
    static let primaryPositionSQL = "SELECT pg_current_wal_lsn()::text"
    static let replayedSQL =
        "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn, COALESCE(pg_last_wal_replay_lsn()::text, 'none')"

    /// Waits as described above and returns where to scan. `primary` is the run's own session on
    /// the primary; `primaryConnectionString` is what the scan uses when it falls back.
    func choose(
        asOf: Date, primary: PostgresSession, primaryConnectionString: String, cancellation: JobCancellation?,
        logger: Logger
    ) throws -> Choice {
        let settleWait = try waitForSettle(asOf: asOf, primary: primary, cancellation: cancellation, logger: logger)
        guard let configured = replicaConnectionString else {
            return Choice(
                connectionString: primaryConnectionString, onReplica: false, fallbackReason: nil,
                settleWait: settleWait, replayWait: .zero)
        }
        func fallback(_ reason: String, waited: Duration = .zero) -> Choice {
            logger.warning("the audit scans the primary instead of the read replica", metadata: ["reason": "\(reason)"])
            return Choice(
                connectionString: primaryConnectionString, onReplica: false, fallbackReason: reason,
                settleWait: settleWait, replayWait: waited)
        }
        let replica: PostgresSession
        let replicaConnectionString: String
        do {
            // The scan's sessions use the same string, so they carry the timeout too.
            replicaConnectionString = try ConnectionString.addingConnectTimeout(
                to: configured, seconds: connectTimeoutSeconds)
            replica = try PostgresSession(connectionString: replicaConnectionString)
        } catch {
            return fallback("replica unreachable: \(error)")
        }
        defer { replica.close() }
        guard try replica.execute(Self.inRecoverySQL).scalar == "t" else {
            // Not a standby (a promoted replica, or the primary itself): it has every commit.
            return Choice(
                connectionString: replicaConnectionString, onReplica: true, fallbackReason: nil,
                settleWait: settleWait, replayWait: .zero)
        }
        guard let needed = try primary.execute(Self.primaryPositionSQL).scalar else {
            throw AuditError.database(PostgresError(.query, "pg_current_wal_lsn() returned nothing"))
        }
        let started = ContinuousClock.now
        var replayed = "none"
        while true {
            let row = try replica.execute(Self.replayedSQL, [needed]).rows.first
            replayed = (row?.count ?? 0) > 1 ? row?[1] ?? "none" : "none"
            if row?.first == "t" {
                let waited = started.duration(to: .now)
                logger.info(
                    "read replica has replayed past the primary's position; scanning it",
                    metadata: ["needed_lsn": "\(needed)", "replayed_lsn": "\(replayed)", "waited": "\(waited)"])
                return Choice(
                    connectionString: replicaConnectionString, onReplica: true, fallbackReason: nil,
                    settleWait: settleWait, replayWait: waited)
            }
            let waited = started.duration(to: .now)
            if waited >= replicaWaitLimit { break }
            let pause = min(pollInterval, replicaWaitLimit - waited)
            if cancellation?.wait(until: Date().addingTimeInterval(Self.seconds(pause))) == false {
                throw AuditError.cancelled
            } else if cancellation == nil {
                Thread.sleep(forTimeInterval: Self.seconds(pause))
            }
        }
        let waited = started.duration(to: .now)
        switch whenBehind {
        case .primary:
            return fallback(
                "replica had replayed \(replayed), not \(needed), after \(waited) (AUDIT_REPLICA_WAIT)", waited: waited)
        case .fail:
            logger.error(
                "read replica still behind the primary; failing the audit",
                metadata: ["needed_lsn": "\(needed)", "replayed_lsn": "\(replayed)", "waited": "\(waited)"])
            throw AuditError.replicaBehind(waited: waited, replayed: replayed, needed: needed)
        }
    }

    /// Sleeps until `as_of + settle` has passed on the primary's clock; returns how long it waited.
    private func waitForSettle(asOf: Date, primary: PostgresSession, cancellation: JobCancellation?, logger: Logger)
        throws -> Duration
    {
        let settleMicroseconds =
            settle.components.seconds * 1_000_000 + settle.components.attoseconds / 1_000_000_000_000
        let asOfText = AuditTime.sqlText(AuditTime.microseconds(asOf))
        let remaining =
            try primary.execute(Self.settleRemainingSQL, [asOfText, String(settleMicroseconds)]).scalar.flatMap {
                Int64($0)
            } ?? 0
        guard remaining > 0 else { return .zero }
        let wait = Duration.microseconds(remaining)
        // Notice, the command line's default level: a wait must never look like a hang.
        logger.notice(
            "waiting for bids stamped before as_of to commit before the audit's snapshot",
            metadata: [
                "wait": "\(wait)", "settle": "\(settle)",
                "until": "\(AuditTime.text(AuditTime.microseconds(asOf) + settleMicroseconds))",
            ])
        if let cancellation {
            if !cancellation.wait(until: Date().addingTimeInterval(Self.seconds(wait))) { throw AuditError.cancelled }
        } else {
            Thread.sleep(forTimeInterval: Self.seconds(wait))
        }
        return wait
    }

    private static func seconds(_ duration: Duration) -> TimeInterval {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
