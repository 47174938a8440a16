import Foundation
import Logging
import Maintenance
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Synchronization
import Telemetry
import Testing

/// `Maintainer` against real PostgreSQL with every migration: partitions ahead, bids_default
/// emptied, retention by whole partitions and by batches, dry runs, and two maintainers at once.
@Suite struct MaintenancePostgresTests {
    private static let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    /// Far beyond the partitions the migration creates from the real date, so results are fixed.
    private static let now = Date(timeIntervalSince1970: 2_210_112_000)  // 2040-01-15T00:00:00Z

    private static func database(_ name: String) throws -> PostgresSession {
        try database(url: try TestDatabase.fresh(name))
    }

    private static func database(url: String) throws -> PostgresSession {
        let session = try PostgresSession(connectionString: url)
        try MigrationRunner.migrate(try PartitionMigrationPostgresTests.migrations(), session: session)
        return session
    }

    @discardableResult
    private static func insertBids(_ session: PostgresSession, at instants: [String]) throws -> [String] {
        try instants.map { instant in
            try session.execute(
                """
                INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
                VALUES (3, 1.00, 100, 1.20, $1) RETURNING id
                """, [instant]
            ).scalar ?? ""
        }
    }

    private static func names(_ session: PostgresSession) throws -> [String] {
        try PartitionMigrationPostgresTests.partitions(session).map { String($0.prefix { $0 != " " }) }
    }

    private static func maintainer(_ settings: MaintenanceSettings = MaintenanceSettings()) -> Maintainer {
        Maintainer(settings: settings, logger: quiet, metricsFactory: SchedulerTestMetrics())
    }

    @Test func createsPartitionsAheadAndEmptiesTheDefaultPartition() throws {
        let session = try Self.database("maintain_create")
        let ids = try Self.insertBids(
            session, at: ["2031-05-10T00:00:00Z", "2031-05-31T23:59:59.999999Z", "2032-01-01T00:00:00Z"])
        #expect(try session.execute("SELECT count(*) FROM bids_default").scalar == "3")

        let metrics = SchedulerTestMetrics()
        let maintainer = Maintainer(settings: MaintenanceSettings(), logger: Self.quiet, metricsFactory: metrics)
        let report = try maintainer.run(session: session, dryRun: false, now: Self.now)
        #expect(
            report.actions == [
                MaintenanceAction(.created, table: "bids_p2031_05", rows: 2),
                MaintenanceAction(.moved, table: "bids_p2031_05", rows: 2),
                MaintenanceAction(.created, table: "bids_p2032_01", rows: 1),
                MaintenanceAction(.moved, table: "bids_p2032_01", rows: 1),
                MaintenanceAction(.created, table: "bids_p2040_01", rows: 0),
                MaintenanceAction(.created, table: "bids_p2040_02", rows: 0),
                MaintenanceAction(.created, table: "bids_p2040_03", rows: 0),
            ])
        #expect(metrics.value("bidengine_maintenance_actions_total", [("action", "created")]) == 5)
        #expect(metrics.value("bidengine_maintenance_rows_total", [("action", "moved")]) == 3)
        #expect(try session.execute("SELECT count(*) FROM bids_default").scalar == "0")
        let placed = try session.execute("SELECT id::text, tableoid::regclass::text FROM bids ORDER BY id").rows
        #expect(placed == [[ids[0], "bids_p2031_05"], [ids[1], "bids_p2031_05"], [ids[2], "bids_p2032_01"]])
        // New bids in those months now go straight to their partition; a second pass has nothing to do.
        #expect(
            try session.execute(
                """
                INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
                VALUES (3, 1, 100, 1, '2040-02-29T12:00:00Z') RETURNING tableoid::regclass::text
                """
            ).scalar == "bids_p2040_02")
        #expect(try maintainer.run(session: session, dryRun: false, now: Self.now).actions == [])
    }

    /// Rows for one month in bids_default, one a second (distinct stamps), and old competitor prices.
    private static func longWork(_ session: PostgresSession, bids: Int, prices: Int) throws {
        try session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT 3, 1.00, 100, 1.20, timestamptz '2031-05-01T00:00:00Z' + g * interval '1 second'
            FROM generate_series(1, $1::int) g
            """, [String(bids)])
        try session.execute(
            """
            INSERT INTO competitor_prices (source, external_id, title, price, observed_at)
            SELECT 'http://s', g::text, 't', 1, timestamptz '2020-01-01T00:00:00Z' + g * interval '1 second'
            FROM generate_series(1, $1::int) g
            """, [String(prices)])
    }

    /// The long steps report while they run, after each batch: the rows moved out of bids_default
    /// (in one transaction, 45 pages at a time) and the rows deleted past a retention (5,000 at a time).
    @Test func progressIsReportedAtEachStepAndAfterEachBatch() throws {
        let session = try Self.database("maintain_progress")
        try Self.longWork(session, bids: 12_000, prices: 7_000)
        // A batch of the move is 45 heap pages of bids_default: the rows moved after each one.
        let afterEachBatch = try session.execute(
            """
            SELECT (sum(count(*)) OVER (ORDER BY page / 45))::text
            FROM (SELECT (ctid::text::point)[0]::bigint AS page FROM bids_default) AS rows
            GROUP BY page / 45 ORDER BY page / 45
            """
        ).rows.compactMap { $0[0].flatMap { Int64($0) } }
        #expect(afterEachBatch.count == 3)  // 12,000 bids, about 110 a page
        let reports = Mutex<[MaintenanceProgress]>([])
        var maintainer = Self.maintainer(
            MaintenanceSettings(competitorPrices: try RetentionPeriod.parse("400d", key: "x")))
        maintainer.progress = { progress in reports.withLock { $0.append(progress) } }
        let report = try maintainer.run(session: session, dryRun: false, now: Self.now)
        #expect(
            report.actions.prefix(2) == [
                MaintenanceAction(.created, table: "bids_p2031_05", rows: 12_000),
                MaintenanceAction(.moved, table: "bids_p2031_05", rows: 12_000),
            ])
        #expect(
            reports.withLock { $0 } == [
                MaintenanceProgress(.creating, table: "bids_p2031_05", rows: 0),
                MaintenanceProgress(.moving, table: "bids_p2031_05", rows: 0, expected: 12_000),
            ]
                + afterEachBatch.map {
                    MaintenanceProgress(.moving, table: "bids_p2031_05", rows: $0, expected: 12_000)
                }
                + [
                    MaintenanceProgress(.creating, table: "bids_p2040_01", rows: 0),
                    MaintenanceProgress(.creating, table: "bids_p2040_02", rows: 0),
                    MaintenanceProgress(.creating, table: "bids_p2040_03", rows: 0),
                    MaintenanceProgress(.deleting, table: "competitor_prices", rows: 0),
                    MaintenanceProgress(.deleting, table: "competitor_prices", rows: 5_000),
                    MaintenanceProgress(.deleting, table: "competitor_prices", rows: 7_000),
                    MaintenanceProgress(.deleting, table: "poll_runs", rows: 0),
                    MaintenanceProgress(.deleting, table: "poll_runs", rows: 0),
                ])
        #expect(afterEachBatch.last == 12_000)
        #expect(try session.execute("SELECT count(*) FROM bids_default").scalar == "0")
        #expect(try session.execute("SELECT count(*) FROM bids_p2031_05").scalar == "12000")
        #expect(
            try session.execute("SELECT min(calculated_at) = timestamptz '2031-05-01T00:00:01Z' FROM bids_p2031_05")
                .scalar == "t")
        // Attached with the month's bounds: a new bid of that month goes straight to it.
        #expect(
            try session.execute(
                """
                INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
                VALUES (3, 1, 100, 1, '2031-05-31T23:59:59.999999Z') RETURNING tableoid::regclass::text
                """
            ).scalar == "bids_p2031_05")
        // The progress interval holds back the batch reports of a step, never its start.
        reports.withLock { $0 = [] }
        try Self.longWork(session, bids: 0, prices: 12_000)
        maintainer.progressInterval = .seconds(3600)
        _ = try maintainer.run(session: session, dryRun: false, now: Self.now)
        #expect(
            reports.withLock { $0 } == [
                MaintenanceProgress(.deleting, table: "competitor_prices", rows: 0),
                MaintenanceProgress(.deleting, table: "poll_runs", rows: 0),
            ])
    }

    /// A bid of the month that lands in bids_default behind the batches (here: right after the
    /// last one, in a page already moved) is found when the partition is attached, and moved too.
    @Test func aBidArrivingDuringTheMoveIsMovedToo() throws {
        let url = try TestDatabase.fresh("maintain_move_arrival")
        let session = try Self.database(url: url)
        try Self.longWork(session, bids: 3, prices: 0)
        let inserted = Mutex(false)
        var maintainer = Self.maintainer()
        maintainer.progress = { progress in
            guard progress.step == .moving, progress.rows == 3, !inserted.withLock({ $0 }) else { return }
            inserted.withLock { $0 = true }
            let late = try? PostgresSession(connectionString: url)
            defer { late?.close() }
            _ = try? late?.execute(
                """
                INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
                VALUES (4, 1, 100, 1, '2031-05-20T00:00:00Z')
                """)
        }
        let report = try maintainer.run(session: session, dryRun: false, now: Self.now)
        #expect(inserted.withLock { $0 })
        #expect(
            report.actions.prefix(2) == [
                MaintenanceAction(.created, table: "bids_p2031_05", rows: 4),
                MaintenanceAction(.moved, table: "bids_p2031_05", rows: 4),
            ])
        #expect(try session.execute("SELECT count(*) FROM bids_default").scalar == "0")
        #expect(try session.execute("SELECT count(*) FROM bids_p2031_05").scalar == "4")
    }

    /// `bidengine maintain --format json` off a terminal: the steps as JSON log lines on stderr,
    /// and on stdout the report alone, parseable.
    @Test func maintainCommandPrintsProgressOnStderrAndOnlyTheReportOnStdout() throws {
        let url = try TestDatabase.fresh("maintain_progress_command")
        let session = try Self.database(url: url)
        try Self.longWork(session, bids: 6_000, prices: 10)
        session.close()
        let outcome = try BidengineProcess.run(
            BidengineProcess.binary, ["maintain", "--format", "json", "--no-migrate"],
            environment: ["DATABASE_URL": url, "COMPETITOR_PRICES_RETENTION": "400d"])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
        let actions = report?["actions"] as? [[String: Any]] ?? []
        #expect(
            actions.contains { $0["action"] as? String == "moved" && $0["rows"] as? Int == 6_000 }, "\(outcome.stdout)")
        let lines = outcome.stderr.split(separator: "\n").filter { $0.contains(#""msg":"maintenance progress""#) }
        #expect(lines.contains { $0.contains(#""step":"moving""#) && $0.contains(#""rows_expected":"6000""#) })
        #expect(lines.contains { $0.contains(#""step":"creating""#) && $0.contains(#""table":"bids_p2031_05""#) })
        #expect(lines.contains { $0.contains(#""step":"deleting""#) && $0.contains(#""table":"competitor_prices""#) })
        // A delete does not count ahead: no expected total rather than a -1.
        #expect(lines.contains { $0.contains(#""step":"deleting""#) && !$0.contains("rows_expected") })
        #expect(!outcome.stderr.contains(#""rows_expected":"-1""#))
        #expect(!outcome.stdout.contains("maintenance progress"))
    }

    /// A tracing setting that cannot be used is refused before anything runs, as `serve` does.
    @Test func maintainRefusesABadTracingSetting() throws {
        let outcome = try BidengineProcess.run(
            BidengineProcess.binary, ["maintain", "--dry-run"],
            environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_TRACES_EXPORTER": "zipkin"])
        #expect(outcome.status == 64)
        #expect(outcome.stderr.contains("Error: OTEL_TRACES_EXPORTER=zipkin: only otlp and none are supported"))
        #expect(outcome.stdout.isEmpty)
    }

    @Test func aDryRunReportsTheSameActionsAndChangesNothing() throws {
        let session = try Self.database("maintain_dry")
        try Self.insertBids(session, at: ["2031-05-10T00:00:00Z"])
        let before = try Self.names(session)
        let report = try Self.maintainer(MaintenanceSettings(bids: try RetentionPeriod.parse("400d", key: "x")))
            .run(session: session, dryRun: true, now: Self.now)
        #expect(report.dryRun)
        // Older than the retention's month: it would be deleted from bids_default, not moved.
        #expect(report.actions.first == MaintenanceAction(.deleted, table: "bids_default", rows: 1))
        #expect(report.actions.contains { $0.kind == .dropped && $0.table == "bids_legacy" })
        #expect(try Self.names(session) == before)
        #expect(try session.execute("SELECT count(*) FROM bids_default").scalar == "1")
        #expect(report.text.hasPrefix("would delete  bids_default   1 rows\nwould create  bids_p2040_01  0 rows\n"))
        #expect(report.text.contains("would detach  bids_legacy    ~0 rows (estimate)\n"), "\(report.text)")
        #expect(report.text.contains("would drop    bids_legacy    ~0 rows (estimate)\n"), "\(report.text)")
        #expect(!report.text.contains("would deleted") && !report.text.contains("would created"))
        #expect(report.json.hasPrefix(#"{"dry_run":true,"skipped":false,"actions":[{"action":"deleted""#))
    }

    @Test func bidRetentionDropsOnlyPartitionsWhollyOlderThanTheCutoff() throws {
        let session = try Self.database("maintain_bids_retention")
        let existing = try Self.names(session).filter { $0 != "bids_default" }
        // 2040-01-15 - 400 days = 2038-12-11: the cutoff is that month's start, 2038-12-01.
        let ids = try Self.insertBids(
            session,
            at: ["2020-01-05T00:00:00Z", "2038-11-30T00:00:00Z", "2038-12-05T00:00:00Z", "2039-06-01T00:00:00Z"])
        let retention = try RetentionPeriod.parse("400d", key: "BIDS_RETENTION")
        let report = try Self.maintainer(MaintenanceSettings(bids: retention))
            .run(session: session, dryRun: false, now: Self.now)
        // 2038-11-30 waited in bids_default: deleted there, no partition made for it.
        #expect(report.actions.first == MaintenanceAction(.deleted, table: "bids_default", rows: 1))
        let dropped = report.actions.filter { $0.kind == .dropped }.map(\.table)
        #expect(Set(dropped) == Set(existing))
        #expect(report.actions.filter { $0.kind == .detached }.map(\.table) == dropped)
        // 2038-12-05 is older than 400 days, but its month is not: kept, as in a monthly partition.
        #expect(try session.execute("SELECT id::text FROM bids ORDER BY id").rows == [[ids[2]], [ids[3]]])
        #expect(
            try Self.names(session) == [
                "bids_default", "bids_p2038_12", "bids_p2039_06", "bids_p2040_01", "bids_p2040_02", "bids_p2040_03",
            ])
    }

    /// A backfill after the install, when `bids_legacy` is gone: the old bids wait in
    /// `bids_default`. One pass deletes those of months before the cutoff and moves the others.
    @Test func bidRetentionDeletesOldBidsWaitingInTheDefaultPartition() throws {
        let session = try Self.database("maintain_bids_backfill")
        let existing = try Self.names(session).filter { $0 != "bids_default" }
        let legacy = try Self.insertBids(session, at: ["2026-01-01T00:00:00Z"])
        // 400, 200, 100, 95, 80 and 10 days before 2040-01-15; 90 days back is 2039-10-17, so
        // the cutoff is 2039-10-01.
        let backfill = try Self.insertBids(
            session,
            at: [
                "2038-12-11T00:00:00Z", "2039-06-29T00:00:00Z", "2039-10-07T00:00:00Z", "2039-10-12T00:00:00Z",
                "2039-10-27T00:00:00Z", "2040-01-05T00:00:00Z",
            ])
        #expect(try session.execute("SELECT count(*) FROM bids_default").scalar == "6")
        let retention = try RetentionPeriod.parse("90d", key: "BIDS_RETENTION")
        let dryRun = try Self.maintainer(MaintenanceSettings(bids: retention))
            .run(session: session, dryRun: true, now: Self.now)
        #expect(
            dryRun.actions.prefix(5) == [
                MaintenanceAction(.deleted, table: "bids_default", rows: 2),
                MaintenanceAction(.created, table: "bids_p2039_10", rows: 3),
                MaintenanceAction(.moved, table: "bids_p2039_10", rows: 3),
                MaintenanceAction(.created, table: "bids_p2040_01", rows: 1),
                MaintenanceAction(.moved, table: "bids_p2040_01", rows: 1),
            ])
        #expect(try session.execute("SELECT count(*) FROM bids").scalar == "7")

        let report = try Self.maintainer(MaintenanceSettings(bids: retention))
            .run(session: session, dryRun: false, now: Self.now)
        #expect(report.actions == dryRun.actions)
        #expect(Set(report.actions.filter { $0.kind == .dropped }.map(\.table)) == Set(existing))
        #expect(!legacy.isEmpty)
        let placed = try session.execute("SELECT id::text, tableoid::regclass::text FROM bids ORDER BY id").rows
        #expect(
            placed == [
                [backfill[2], "bids_p2039_10"], [backfill[3], "bids_p2039_10"], [backfill[4], "bids_p2039_10"],
                [backfill[5], "bids_p2040_01"],
            ])
    }

    /// `bidengine maintain` on a fresh install, with the real clock: `bids_legacy` holds every bid
    /// before next month, so the bids of the last 400 days all sit in it, and a backfill after
    /// the install lands there too. A dry run counts and changes nothing; one pass leaves no bid
    /// before the month start at or before now - 90 days, in any partition.
    @Test func maintainCommandDeletesOldBidsFromTheLegacyPartition() throws {
        let url = try TestDatabase.fresh("maintain_legacy_retention")
        let environment = ["DATABASE_URL": url, "BIDS_RETENTION": "90d"]
        let migrated = try BidengineProcess.run(BidengineProcess.binary, ["migrate"], environment: environment)
        #expect(migrated.status == 0, "\(migrated.stderr)")
        let session = try PostgresSession(connectionString: url)
        defer { session.close() }
        let insert = """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT d, 1.00, 100, 1.20, now() - d * interval '1 day' FROM unnest($1::int[]) d
            """
        try session.execute(insert, ["{400,200,130,100,85,10,0}"])
        // In the future beyond the partitions made ahead: bids_default.
        try session.execute(insert, ["{-200}"])
        let placement = "SELECT product_id::text, tableoid::regclass::text FROM bids ORDER BY calculated_at"
        let before = try session.execute(placement).rows
        #expect(before.filter { $0[1] == "bids_legacy" }.count == 7)
        #expect(before.last?[1] == "bids_default")
        // What the month rule removes: 400, 200, 130 always; 100 when its month is wholly past.
        let old =
            "calculated_at < date_trunc('month', (now() - interval '90 days') AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
        let expectedOld = try session.execute("SELECT product_id::text FROM bids WHERE \(old) ORDER BY 1").rows
        #expect(expectedOld.count >= 3 && expectedOld.count <= 4)
        #expect(Set(expectedOld.compactMap { $0[0] }).isSuperset(of: ["400", "200", "130"]))

        let dry = try BidengineProcess.run(
            BidengineProcess.binary, ["maintain", "--dry-run", "--format", "json", "--no-migrate"],
            environment: environment)
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(
            Self.actions(dry.stdout).contains {
                $0["action"] as? String == "deleted" && $0["table"] as? String == "bids_legacy"
                    && $0["rows"] as? Int == expectedOld.count
            }, "\(dry.stdout)")
        #expect(try session.execute(placement).rows == before)

        let pass = try BidengineProcess.run(
            BidengineProcess.binary, ["maintain", "--format", "json", "--no-migrate"], environment: environment)
        #expect(pass.status == 0, "\(pass.stderr)")
        #expect(
            Self.actions(pass.stdout).contains {
                $0["action"] as? String == "deleted" && $0["table"] as? String == "bids_legacy"
                    && $0["rows"] as? Int == expectedOld.count
            }, "\(pass.stdout)")
        #expect(pass.stderr.contains(#""step":"deleting""#) && pass.stderr.contains(#""table":"bids_legacy""#))
        let kept = before.filter { row in !expectedOld.contains([row[0]]) }.map { $0[0] }
        #expect(try session.execute(placement).rows.map { $0[0] } == kept)
        #expect(try session.execute("SELECT count(*) FROM bids WHERE \(old)").scalar == "0")
        #expect(try session.execute("SELECT count(*) FROM bids_default").scalar == "0")

        // A backfill of old and recent dates after that pass: the next pass takes the old one.
        try session.execute(insert, ["{300,5}"])
        let again = try BidengineProcess.run(
            BidengineProcess.binary, ["maintain", "--format", "json", "--no-migrate"], environment: environment)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(
            Self.actions(again.stdout).contains {
                $0["action"] as? String == "deleted" && $0["table"] as? String == "bids_legacy"
                    && $0["rows"] as? Int == 1
            }, "\(again.stdout)")
        #expect(try session.execute("SELECT count(*) FROM bids WHERE product_id = 300").scalar == "0")
        #expect(try session.execute("SELECT count(*) FROM bids WHERE product_id = 5").scalar == "1")
    }

    /// Thousands of old bids in `bids_legacy`, 6,000 of them at one instant (a batch boundary
    /// falls among them): every one deleted, 5,000 a batch, with a progress report after each.
    @Test func oldBidsOfTheLegacyPartitionAreDeletedInBatchesAcrossTiedInstants() throws {
        let session = try Self.database("maintain_legacy_batches")
        try session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT 7, 1.00, 100, 1.20,
                   CASE WHEN g <= 6000 THEN now() - interval '400 days' ELSE now() - interval '300 days' - g * interval '1 second' END
            FROM generate_series(1, 12001) g
            """)
        try session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            VALUES (8, 1.00, 100, 1.20, now() - interval '1 day')
            """)
        #expect(try session.execute("SELECT count(*) FROM bids_legacy").scalar == "12002")
        let reports = Mutex<[MaintenanceProgress]>([])
        var maintainer = Self.maintainer(MaintenanceSettings(bids: try RetentionPeriod.parse("90d", key: "x")))
        maintainer.progress = { progress in
            if progress.table == "bids_legacy" { reports.withLock { $0.append(progress) } }
        }
        let report = try maintainer.run(session: session, dryRun: false)
        #expect(report.actions.contains(MaintenanceAction(.deleted, table: "bids_legacy", rows: 12_001)))
        #expect(
            reports.withLock { $0 }
                == [0, 5_000, 10_000, 12_001].map {
                    MaintenanceProgress(.deleting, table: "bids_legacy", rows: $0)
                })
        #expect(try session.execute("SELECT product_id::text FROM bids").rows == [["8"]])
    }

    private static func actions(_ json: String) -> [[String: Any]] {
        let report = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return report?["actions"] as? [[String: Any]] ?? []
    }

    @Test func competitorAndAuditRetentionDeleteOnlyOlderRows() throws {
        let session = try Self.database("maintain_other_retention")
        try session.execute(
            """
            INSERT INTO competitor_prices (source, external_id, title, price, observed_at)
            SELECT 'http://s', g::text, 't', 1, timestamptz '2039-12-15T00:00:00Z' - g * interval '1 hour'
            FROM generate_series(1, 12001) g
            """)
        try session.execute(
            """
            INSERT INTO poll_runs (source, started_at, status) VALUES
                ('http://s', '2039-01-01T00:00:00Z', 'ok'), ('http://s', '2039-01-01T00:00:00Z', 'running'),
                ('http://s', '2040-01-10T00:00:00Z', 'ok')
            """)
        for (asOf, flags) in [("2039-11-01T02:00:00Z", 7000), ("2040-01-14T02:00:00Z", 3)] {
            let run =
                try session.execute(
                    """
                    INSERT INTO audit_runs (as_of, window_seconds, threshold, triggered_by, status, started_at, finished_at, bids_reviewed, bids_flagged)
                    VALUES ($1, 604800, 0.20, 'manual', 'succeeded', $1, $1, $2, $2) RETURNING id
                    """, [asOf, String(flags)]
                ).scalar ?? ""
            try session.execute(
                """
                INSERT INTO audit_flags SELECT $1::bigint, g, 1, 1, 2, 1, 100 FROM generate_series(1, $2::int) g
                """, [run, String(flags)])
            try session.execute(
                "INSERT INTO audit_products VALUES ($1::bigint, 1, $2::bigint, 1, 1, 100)", [run, String(flags)])
            try session.execute(
                "INSERT INTO audit_deviation_bands VALUES ($1::bigint, 0, 'x', $2::bigint)", [run, String(flags)])
        }
        // Cutoff for both: 2040-01-15 - 30 days = 2039-12-16.
        let thirtyDays = try RetentionPeriod.parse("30d", key: "x")
        let report = try Self.maintainer(MaintenanceSettings(competitorPrices: thirtyDays, audit: thirtyDays))
            .run(session: session, dryRun: false, now: Self.now)
        #expect(
            report.actions.filter { $0.kind == .deleted } == [
                MaintenanceAction(.deleted, table: "audit_flags", rows: 7000),
                MaintenanceAction(.deleted, table: "audit_flag_pairs", rows: 0),
                MaintenanceAction(.deleted, table: "audit_products", rows: 1),
                MaintenanceAction(.deleted, table: "audit_deviation_bands", rows: 1),
                MaintenanceAction(.deleted, table: "audit_runs", rows: 1),
                MaintenanceAction(.deleted, table: "competitor_prices", rows: 12001),
                MaintenanceAction(.deleted, table: "poll_runs", rows: 1),
            ])
        #expect(try session.execute("SELECT count(*) FROM competitor_prices").scalar == "0")
        #expect(try session.execute("SELECT count(*) FROM poll_runs").scalar == "2")
        #expect(try session.execute("SELECT count(*) FROM audit_flags").scalar == "3")
        #expect(try session.execute("SELECT as_of = '2040-01-14T02:00:00Z' FROM audit_runs").rows == [["t"]])
    }

    /// A run whose flags are read from its window's bids (stored per price pair) goes with the
    /// first of those bids, even with no audit retention; a run with its flags stored per bid
    /// stays, as does a run whose window starts at or after the bid cutoff.
    @Test func bidRetentionRemovesTheAuditRunsThatReadItsBids() throws {
        let session = try Self.database("maintain_audit_with_bids")
        // 90 days before 2040-01-15: the cutoff is 2039-10-01. Windows are 7 days.
        for (asOf, first) in [
            ("2039-10-05T00:00:00Z", "1"), ("2039-10-08T00:00:00Z", "1"), ("2039-10-05T01:00:00Z", nil),
        ] {
            let run =
                try session.execute(
                    """
                    INSERT INTO audit_runs (as_of, window_seconds, threshold, triggered_by, status, started_at,
                                            finished_at, bids_reviewed, bids_flagged, first_bid_id, last_bid_id)
                    VALUES ($1, 604800, 0.20, 'manual', 'succeeded', $1, $1, 5, 5, $2, $2) RETURNING id
                    """, [asOf, first]
                ).scalar ?? ""
            try session.execute("INSERT INTO audit_flag_pairs VALUES ($1::bigint, 1, 2, 100, 5)", [run])
        }
        let report = try Self.maintainer(MaintenanceSettings(bids: try RetentionPeriod.parse("90d", key: "x")))
            .run(session: session, dryRun: false, now: Self.now)
        #expect(
            report.actions.prefix(5) == [
                MaintenanceAction(.deleted, table: "audit_flags", rows: 0),
                MaintenanceAction(.deleted, table: "audit_flag_pairs", rows: 1),
                MaintenanceAction(.deleted, table: "audit_products", rows: 0),
                MaintenanceAction(.deleted, table: "audit_deviation_bands", rows: 0),
                MaintenanceAction(.deleted, table: "audit_runs", rows: 1),
            ])
        #expect(
            try session.execute("SELECT to_char(as_of AT TIME ZONE 'UTC', 'MM-DD HH24') FROM audit_runs ORDER BY 1")
                .rows
                == [["10-05 01"], ["10-08 00"]])
    }

    @Test func aSecondMaintainerSkipsWhileTheFirstHoldsTheLock() throws {
        let url = try TestDatabase.fresh("maintain_lock")
        let session = try Self.database(url: url)
        let holder = try PostgresSession(connectionString: url)
        try holder.execute("SELECT pg_advisory_lock(\(0x6269_646D_6169_6E74 as Int64))")
        let skipped = try Self.maintainer().run(session: session, dryRun: false, now: Self.now)
        #expect(skipped.skipped && skipped.actions.isEmpty)
        #expect(skipped.text == "maintenance skipped: another maintenance pass holds the lock\n")
        try holder.execute("SELECT pg_advisory_unlock_all()")
        #expect(try Self.maintainer().run(session: session, dryRun: false, now: Self.now).actions.count == 3)
    }

    /// A pass is one trace: a root span and, under it, a span per step saying what that step did,
    /// with the same counts as the report.
    @Test func aPassIsOneTraceWithASpanPerStepSayingWhatItDid() throws {
        let session = try Self.database("maintain_spans")
        let existing = try Self.names(session).filter { $0 != "bids_default" }
        // 2040-01-15 - 400 days: the cutoff is 2038-12-01. The first bid waits in bids_default
        // before it (deleted); the second after it (moved into a partition of its own).
        try Self.insertBids(session, at: ["2038-11-30T00:00:00Z", "2039-06-01T00:00:00Z"])
        let buffer = SpanBuffer(capacity: 100)
        var maintainer = Self.maintainer(
            MaintenanceSettings(bids: try RetentionPeriod.parse("400d", key: "BIDS_RETENTION")))
        maintainer.tracer = Tracer(buffer: buffer) { _, _ in true }
        let report = try maintainer.run(session: session, dryRun: false, now: Self.now)

        let spans = buffer.drain()
        #expect(
            spans.map(\.name) == [
                "maintenance delete audit runs", "maintenance delete old bids of bids_default",
                "maintenance create partitions", "maintenance drop partitions",
                "maintenance delete old bids of straddling partitions", "maintenance",
            ])
        let root = try #require(spans.last)
        #expect(root.parentSpanID == 0)
        for span in spans.dropLast() {
            #expect(span.parentSpanID == root.spanID && span.traceIDLow == root.traceIDLow, "\(span.name)")
            #expect(span.traceIDHigh == root.traceIDHigh && span.error == nil && span.kind == .internal)
        }
        func attributes(_ index: Int) -> [String] { spans[index].attributes.map { "\($0.0)=\($0.1)" } }
        #expect(attributes(0) == ["bidengine.maintenance.actions=int(0)"])
        #expect(
            attributes(1) == [
                "bidengine.maintenance.actions=int(1)", #"bidengine.maintenance.tables=string("bids_default")"#,
                "bidengine.maintenance.rows_deleted=int(1)",
            ])
        #expect(
            attributes(2) == [
                "bidengine.maintenance.actions=int(5)",
                #"bidengine.maintenance.tables=string("bids_p2039_06,bids_p2040_01,bids_p2040_02,bids_p2040_03")"#,
                "bidengine.maintenance.partitions_created=int(4)", "bidengine.maintenance.rows_moved=int(1)",
            ])
        let dropped = report.actions.filter { $0.kind == .dropped }
        #expect(dropped.map(\.table) == existing)
        #expect(
            attributes(3) == [
                "bidengine.maintenance.actions=int(\(2 * existing.count))",
                #"bidengine.maintenance.tables=string("\#(existing.joined(separator: ","))")"#,
                "bidengine.maintenance.partitions_dropped=int(\(existing.count))",
                "bidengine.maintenance.rows_dropped_estimate=int(\(dropped.reduce(0) { $0 + $1.rows }))",
            ])
        #expect(attributes(4) == ["bidengine.maintenance.actions=int(0)"])
        #expect(
            attributes(5) == [
                "bidengine.maintenance.dry_run=bool(false)", "bidengine.maintenance.skipped=bool(false)",
                "bidengine.maintenance.actions=int(\(report.actions.count))",
                #"bidengine.outcome=string("succeeded")"#,
            ])
        #expect(report.actions.count == 2 * existing.count + 6)
    }

    /// A pass skipped for the lock is a root span alone that says so; a pass the sampler leaves
    /// out records nothing.
    @Test func aSkippedPassIsARootSpanAloneAndAnUnsampledOneRecordsNothing() throws {
        let url = try TestDatabase.fresh("maintain_spans_skipped")
        let session = try Self.database(url: url)
        let holder = try PostgresSession(connectionString: url)
        try holder.execute("SELECT pg_advisory_lock(\(0x6269_646D_6169_6E74 as Int64))")
        let buffer = SpanBuffer(capacity: 100)
        var maintainer = Self.maintainer()
        maintainer.tracer = Tracer(buffer: buffer) { _, _ in true }
        #expect(try maintainer.run(session: session, dryRun: true, now: Self.now).skipped)
        let spans = buffer.drain()
        #expect(spans.map(\.name) == ["maintenance"])
        #expect(
            spans.first?.attributes.map { "\($0.0)=\($0.1)" } == [
                "bidengine.maintenance.dry_run=bool(true)", "bidengine.maintenance.skipped=bool(true)",
                "bidengine.maintenance.actions=int(0)", #"bidengine.outcome=string("skipped")"#,
            ])
        try holder.execute("SELECT pg_advisory_unlock_all()")
        maintainer.tracer = Tracer(buffer: buffer) { _, _ in false }
        #expect(try maintainer.run(session: session, dryRun: false, now: Self.now).actions.count == 3)
        #expect(buffer.recorded == 1 && buffer.count == 0)
    }

    @Test func retentionTextIsParsedStrictly() throws {
        #expect(try RetentionPeriod.parse("400d", key: "K")?.seconds == 400 * 86_400)
        #expect(try RetentionPeriod.parse("13w", key: "K")?.seconds == 13 * 604_800)
        #expect(try RetentionPeriod.parse("36h", key: "K")?.seconds == 36 * 3_600)
        #expect(try RetentionPeriod.parse(nil, key: "K") == nil)
        #expect(try RetentionPeriod.parse("forever", key: "K") == nil)
        for bad in ["0d", "1.5d", "10", "10y", "-3d", "d"] {
            #expect(throws: RetentionError.self) { try RetentionPeriod.parse(bad, key: "K") }
        }
    }
}
