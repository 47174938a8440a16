import Foundation
import Postgres
import Scheduler

extension Maintainer {
    /// The state of one pass: its session, its instant and the actions so far.
    struct Pass {
        let session: PostgresSession
        let dryRun: Bool
        /// Unix seconds.
        let now: Int64
        let cancellation: JobCancellation?
        let record: (MaintenanceAction) -> Void
        let progress: ((MaintenanceProgress) -> Void)?
        let progressInterval: Duration
        private(set) var actions: [MaintenanceAction] = []
        /// When the last batch of the current step was reported.
        private var lastReport = ContinuousClock.now

        init(
            session: PostgresSession, dryRun: Bool, now: Int64, cancellation: JobCancellation?,
            record: @escaping (MaintenanceAction) -> Void, progress: ((MaintenanceProgress) -> Void)? = nil,
            progressInterval: Duration = .zero
        ) {
            self.session = session
            self.dryRun = dryRun
            self.now = now
            self.cancellation = cancellation
            self.record = record
            self.progress = progress
            self.progressInterval = progressInterval
        }

        /// A step starts: always reported.
        private mutating func starting(_ step: MaintenanceProgress.Step, _ table: String, expected: Int64? = nil) {
            lastReport = .now
            progress?(MaintenanceProgress(step, table: table, rows: 0, expected: expected))
        }

        /// A batch of a long step is done: reported unless the last report is younger than the interval.
        private mutating func batchDone(
            _ step: MaintenanceProgress.Step, _ table: String, rows: Int64, expected: Int64? = nil
        ) {
            guard let progress, lastReport.duration(to: .now) >= progressInterval else { return }
            lastReport = .now
            progress(MaintenanceProgress(step, table: table, rows: rows, expected: expected))
        }

        private mutating func append(_ action: MaintenanceAction) {
            actions.append(action)
            record(action)
        }

        private func checkCancellation() throws {
            if cancellation?.isCancelled == true { throw MaintenanceCancelled() }
        }

        // MARK: Partitions of bids

        /// A partition of `bids` with its bounds in Unix seconds (nil: MINVALUE / MAXVALUE).
        struct Partition {
            let name: String
            let isDefault: Bool
            let lower: Int64?
            let upper: Int64?
            let estimatedRows: Int64

            func covers(_ instant: Int64) -> Bool {
                !isDefault && (lower.map { $0 <= instant } ?? true) && (upper.map { instant < $0 } ?? true)
            }
        }

        static let partitionsSQL = """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT',
                   CASE WHEN b[1] = 'MINVALUE' THEN NULL ELSE extract(epoch FROM btrim(b[1], '''')::timestamptz)::bigint END,
                   CASE WHEN b[2] = 'MAXVALUE' THEN NULL ELSE extract(epoch FROM btrim(b[2], '''')::timestamptz)::bigint END,
                   greatest(c.reltuples, 0)::bigint
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\((.+)\\) TO \\((.+)\\)') AS m(b)
            WHERE i.inhparent = 'bids'::regclass
            ORDER BY 3 NULLS FIRST
            """

        func partitions() throws -> [Partition] {
            try session.execute(Self.partitionsSQL).rows.map { row in
                Partition(
                    name: row[0] ?? "", isDefault: row[1] == "t", lower: row[2].flatMap { Int64($0) },
                    upper: row[3].flatMap { Int64($0) }, estimatedRows: row[4].flatMap { Int64($0) } ?? 0)
            }
        }

        /// Month starts (UTC) that need a partition: this month and the next two, and every month
        /// with rows waiting in `bids_default` (with how many) from `$2` on (Unix seconds; NULL:
        /// every month), unless a partition covers them.
        static let monthsSQL = """
            WITH wanted AS (
                SELECT date_trunc('month', to_timestamp($1::bigint) AT TIME ZONE 'UTC') + step * interval '1 month' AS month, 0::bigint AS waiting
                FROM generate_series(0, 2) AS step
                UNION ALL
                SELECT date_trunc('month', calculated_at AT TIME ZONE 'UTC'), count(*) FROM bids_default
                WHERE calculated_at >= coalesce(to_timestamp($2::bigint), '-infinity') GROUP BY 1
            )
            SELECT extract(epoch FROM month AT TIME ZONE 'UTC')::bigint, 'bids_p' || to_char(month, 'YYYY_MM'), sum(waiting)::bigint
            FROM wanted GROUP BY month ORDER BY month
            """

        /// Creates the partitions that `monthsSQL` asks for and moves the waiting rows into them.
        /// Months before `keptFrom` (the bid retention's cutoff) get none: their rows are deleted
        /// from `bids_default` instead, so they are never moved only to be dropped.
        mutating func createPartitions(keptFrom cutoff: Int64?) throws {
            let existing = try partitions()
            for row in try session.execute(Self.monthsSQL, [String(now), cutoff.map { String($0) }]).rows {
                guard let start = row[0].flatMap({ Int64($0) }), let name = row[1],
                    let waiting = row[2].flatMap({ Int64($0) })
                else { continue }
                if existing.contains(where: { $0.covers(start) }) { continue }
                try checkCancellation()
                starting(.creating, name)
                var moved = waiting
                if waiting > 0 {
                    starting(.moving, name, expected: waiting)
                    if !dryRun { moved = try createAndMove(name, monthStart: start, waiting: waiting) }
                } else if !dryRun {
                    // One transaction: create, move, attach (bids_add_month_partition, migration 0008).
                    moved =
                        Int64(
                            try session.execute(
                                "SELECT bids_add_month_partition(to_timestamp($1::bigint))", [String(start)]
                            ).scalar ?? "") ?? 0
                }
                append(MaintenanceAction(.created, table: name, rows: moved))
                if moved > 0 { append(MaintenanceAction(.moved, table: name, rows: moved)) }
            }
        }

        /// What `bids_add_month_partition` (migration 0008) does, with the move in batches so that
        /// its progress can be reported while it runs: one transaction still, so the month's rows
        /// are never visible twice or not at all, and a failure leaves everything as it was. The
        /// table's shape is the function's (`LIKE bids_default`).
        ///
        /// A batch is a range of `moveBlocks` heap pages of `bids_default` (a TID range scan), so
        /// the batches together read the table once, as the function's single statement does;
        /// batching by `calculated_at` through the index read it twice and took 30–60 % longer.
        /// Bids that arrive for this month meanwhile still land in `bids_default`; if the attach
        /// finds any (it scans `bids_default` anyway), a last move of the whole month takes them
        /// and the attach is tried once more.
        private mutating func createAndMove(_ name: String, monthStart: Int64, waiting: Int64) throws -> Int64 {
            let bounds = try session.execute(
                """
                SELECT to_timestamp($1::bigint)::text,
                       ((to_timestamp($1::bigint) AT TIME ZONE 'UTC' + interval '1 month') AT TIME ZONE 'UTC')::text,
                       pg_relation_size('bids_default') / current_setting('block_size')::bigint
                """, [String(monthStart)]
            ).rows.first
            guard let lower = bounds?[0], let upper = bounds?[1], let pages = bounds?[2].flatMap({ Int64($0) }) else {
                throw PostgresError(.query, "no bounds for the partition \(name)")
            }
            let table = quoted(name)
            let month = "calculated_at >= $1::timestamptz AND calculated_at < $2::timestamptz"
            let moveMonth =
                "WITH moved AS (DELETE FROM bids_default WHERE \(month) RETURNING *) INSERT INTO \(table) SELECT * FROM moved"
            let movePages = """
                WITH moved AS (
                    DELETE FROM bids_default WHERE ctid >= $3::tid AND ctid < $4::tid AND \(month) RETURNING *)
                INSERT INTO \(table) SELECT * FROM moved
                """
            return try session.transaction { session in
                try session.execute(
                    "CREATE TABLE \(table) (LIKE bids_default INCLUDING CONSTRAINTS INCLUDING INDEXES)")
                var moved: Int64 = 0
                var page: Int64 = 0
                while page < pages {
                    try checkCancellation()
                    let next = page + Maintainer.moveBlocks
                    moved += Int64(
                        try session.execute(movePages, [lower, upper, "(\(page),0)", "(\(next),0)"]).affectedRows ?? 0)
                    batchDone(.moving, name, rows: moved, expected: waiting)
                    page = next
                }
                let attach =
                    "ALTER TABLE bids ATTACH PARTITION \(table) FOR VALUES FROM (\(literal(lower))) TO (\(literal(upper)))"
                try session.execute("SAVEPOINT attach")
                do {
                    try session.execute(attach)
                } catch let error as PostgresError where error.sqlState == "23514" {
                    // Bids of this month arrived in bids_default in pages already moved, or past
                    // the last (check_violation: the default partition would hold rows of the new
                    // range). Rare, so the month is not searched again unless it happens.
                    try session.execute("ROLLBACK TO SAVEPOINT attach")
                    moved += Int64(try session.execute(moveMonth, [lower, upper]).affectedRows ?? 0)
                    try session.execute(attach)
                }
                return moved
            }
        }

        // MARK: Bid retention

        /// The first instant the bid retention keeps: the UTC month start at or before
        /// now − retention. Bids go by whole months, wherever they are stored, so a monthly
        /// partition is either wholly before it (dropped) or wholly after it (kept), and what
        /// survives a pass is at most a month older than the retention.
        func bidCutoff(_ retention: RetentionPeriod) throws -> Int64 {
            let monthStart = try session.execute(
                """
                SELECT extract(epoch FROM date_trunc('month', to_timestamp($1::bigint) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::bigint
                """, [String(now - retention.seconds)]
            ).scalar
            guard let cutoff = monthStart.flatMap({ Int64($0) }) else {
                throw PostgresError(.query, "no month start for the bid retention")
            }
            return cutoff
        }

        /// Rows of `bids_default` before `cutoff`, deleted in batches (run before the partitions
        /// are created, so that a backfill of old bids never gets a partition of its own).
        mutating func deleteOldDefaultBids(before cutoff: Int64) throws {
            guard let partition = try partitions().first(where: \.isDefault) else { return }
            try deleteOldBids(partition.name, before: cutoff)
        }

        /// Rows before `cutoff` in the partitions that straddle it, deleted in batches: the ones
        /// a monthly bound cannot drop whole, such as `bids_legacy` (every bid before the month of
        /// the install or upgrade, from MINVALUE on).
        mutating func deleteOldBidsOfStraddlingPartitions(before cutoff: Int64) throws {
            for partition in try partitions() where !partition.isDefault {
                guard partition.lower.map({ $0 < cutoff }) ?? true, partition.upper.map({ $0 > cutoff }) ?? true
                else { continue }
                try deleteOldBids(partition.name, before: cutoff)
            }
        }

        /// Deletes the rows of `partition` before `cutoff` in batches of `batchSize`, each its own
        /// transaction; counts them instead in a dry run.
        ///
        /// Batches walk the partition's `calculated_at` index from where the previous one ended
        /// (keyset), and delete by `ctid`: a batch that searched from the start each time (as
        /// `deleteBatches` does) would re-read every row deleted before it that vacuum has not
        /// removed yet, and an upgraded install may hold millions of old bids
        /// (docs/decisions/0008-bid-retention-by-whole-months.md).
        private mutating func deleteOldBids(_ partition: String, before cutoff: Int64) throws {
            try checkCancellation()
            let table = quoted(partition)
            starting(.deleting, partition)
            let deleted: Int64
            if dryRun {
                deleted =
                    Int64(
                        try session.execute(
                            "SELECT count(*) FROM \(table) WHERE calculated_at < to_timestamp($1::bigint)",
                            [String(cutoff)]
                        ).scalar ?? "") ?? 0
            } else {
                let batch = """
                    WITH deleted AS (
                        DELETE FROM \(table) WHERE ctid = ANY (ARRAY(
                            SELECT ctid FROM \(table)
                            WHERE calculated_at >= $2::timestamptz AND calculated_at < to_timestamp($1::bigint)
                            ORDER BY calculated_at LIMIT \(Maintainer.batchSize)))
                        RETURNING calculated_at)
                    SELECT count(*), max(calculated_at)::text FROM deleted
                    """
                var total: Int64 = 0
                // Rows at the last batch's instant may remain: the next batch starts there again.
                var from = "-infinity"
                while true {
                    try checkCancellation()
                    let row = try session.execute(batch, [String(cutoff), from]).rows.first
                    let count = row?[0].flatMap { Int64($0) } ?? 0
                    total += count
                    batchDone(.deleting, partition, rows: total)
                    guard count == Int64(Maintainer.batchSize), let last = row?[1] ?? nil else { break }
                    from = last
                }
                deleted = total
            }
            if deleted > 0 { append(MaintenanceAction(.deleted, table: partition, rows: deleted)) }
        }

        /// Partitions whose upper bound is at or before `cutoff`: every row in them is older.
        mutating func dropBidPartitions(before cutoff: Int64) throws {
            for partition in try partitions() where !partition.isDefault {
                guard let upper = partition.upper, upper <= cutoff else { continue }
                try checkCancellation()
                starting(.detaching, partition.name, expected: partition.estimatedRows)
                if !dryRun {
                    // Not CONCURRENTLY: PostgreSQL refuses that while a default partition exists.
                    // The lock is held for a catalogue change only, and lock_timeout bounds the wait.
                    try session.execute("ALTER TABLE bids DETACH PARTITION \(quoted(partition.name))")
                }
                append(
                    MaintenanceAction(.detached, table: partition.name, rows: partition.estimatedRows, estimated: true))
                starting(.dropping, partition.name, expected: partition.estimatedRows)
                if !dryRun { try session.execute("DROP TABLE \(quoted(partition.name))") }
                append(
                    MaintenanceAction(.dropped, table: partition.name, rows: partition.estimatedRows, estimated: true))
            }
        }

        // MARK: Unpartitioned tables

        /// Deletes `table`'s rows matching `condition` (whose $1 is the cutoff) in batches.
        mutating func deleteInBatches(
            _ table: String, key: String, where condition: String, olderThan retention: RetentionPeriod
        ) throws {
            let cutoff = String(now - retention.seconds)
            let total = try deleteBatches(table, key: key, where: condition, parameters: [cutoff])
            if total > 0 { append(MaintenanceAction(.deleted, table: table, rows: total)) }
        }

        /// Finished audit runs audited before the audit retention's cutoff, and those whose flags
        /// are read from bids that the bid retention removes (flags stored per price pair, with a
        /// window starting before `bidCutoff`), with their flags, products and bands. Run before
        /// the bids go, so that no report ever lists part of a run's flags.
        mutating func deleteAuditRuns(olderThan retention: RetentionPeriod?, bidCutoff: Int64?) throws {
            let runs = try session.execute(
                """
                SELECT id FROM audit_runs
                WHERE status <> 'running'
                  AND (as_of < to_timestamp($1::bigint)
                       OR (first_bid_id IS NOT NULL AND as_of - window_seconds * interval '1 second' < to_timestamp($2::bigint)))
                ORDER BY id
                """, [retention.map { String(now - $0.seconds) }, bidCutoff.map { String($0) }]
            ).rows.compactMap { $0[0] }
            guard !runs.isEmpty else { return }
            var totals: [String: Int64] = [:]
            for run in runs {
                try checkCancellation()
                // Flags can be hundreds of thousands per run: batches. The rest is a few rows.
                totals["audit_flags", default: 0] += try deleteBatches(
                    "audit_flags", key: "bid_id", where: "run_id = $1::bigint", parameters: [run])
                for table in ["audit_flag_pairs", "audit_products", "audit_deviation_bands", "audit_runs"] {
                    let column = table == "audit_runs" ? "id" : "run_id"
                    let sql =
                        dryRun
                        ? "SELECT count(*) FROM \(table) WHERE \(column) = $1::bigint"
                        : "DELETE FROM \(table) WHERE \(column) = $1::bigint"
                    let result = try session.execute(sql, [run])
                    totals[table, default: 0] += Int64(
                        dryRun ? Int(result.scalar ?? "") ?? 0 : result.affectedRows ?? 0)
                }
            }
            for table in ["audit_flags", "audit_flag_pairs", "audit_products", "audit_deviation_bands", "audit_runs"] {
                append(MaintenanceAction(.deleted, table: table, rows: totals[table] ?? 0))
            }
        }

        /// Deletes in batches of `batchSize` (each its own transaction); counts instead in a dry run.
        private mutating func deleteBatches(
            _ table: String, key: String, where condition: String, parameters: [String?]
        ) throws -> Int64 {
            starting(.deleting, table)
            if dryRun {
                let sql = "SELECT count(*) FROM \(table) WHERE \(condition)"
                return Int64(try session.execute(sql, parameters).scalar ?? "") ?? 0
            }
            let sql = """
                DELETE FROM \(table) WHERE \(condition) AND \(key) IN (
                    SELECT \(key) FROM \(table) WHERE \(condition) LIMIT \(Maintainer.batchSize))
                """
            var total: Int64 = 0
            while true {
                try checkCancellation()
                let deleted = try session.execute(sql, parameters).affectedRows ?? 0
                total += Int64(deleted)
                batchDone(.deleting, table, rows: total)
                if deleted < Maintainer.batchSize { return total }
            }
        }

        private func quoted(_ identifier: String) -> String {
            "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }

        /// A string literal (partition bounds cannot be parameters: ATTACH is a utility statement).
        private func literal(_ text: String) -> String {
            "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
        }
    }
}

/// Thrown when the pass's job is cancelled (scheduler shutdown) between two actions.
struct MaintenanceCancelled: Error, CustomStringConvertible {
    var description: String { "maintenance cancelled" }
}
