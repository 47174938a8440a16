import Audit
import BidCore
import Foundation
import Postgres
import Scheduler
import ServiceTestSupport
import Synchronization
import Testing

/// The audit engine against real PostgreSQL: what is flagged, which bids are in the window, and
/// how runs are stored, replaced and failed.
@Suite struct AuditPostgresTests {
    private func audit(_ database: AuditTestDatabase, asOf: String = "2026-06-15T02:00:00Z", threshold: String = "0.20")
        throws -> AuditRunRecord
    {
        let rule = try AuditRule(threshold: FixedDecimal(parsing: threshold))
        return try database.runner().run(AuditParameters(asOf: AuditTestDatabase.date(asOf), rule: rule))
    }

    private func flags(_ database: AuditTestDatabase, run: Int64) throws -> [[String?]] {
        try database.rows(
            "SELECT bid_id, product_id, current_cpc, adjusted_cpc, deviation, deviation_pct FROM \(AuditTestDatabase.flags) WHERE run_id = $1 ORDER BY bid_id",
            [String(run)])
    }

    @Test func legacyCasesReviewThreeAndFlagTwo() throws {
        let database = try AuditTestDatabase("audit_legacy")
        let ids = try database.insertBids(AuditTestDatabase.legacyBids)
        let run = try audit(database)
        #expect(run.status == .succeeded)
        #expect(run.bidsReviewed == 3)
        #expect(run.bidsFlagged == 2)
        #expect(run.asOfText == "2026-06-15T02:00:00Z")
        #expect(run.windowStartText == "2026-06-08T02:00:00Z")
        #expect(run.trigger == "manual")
        #expect(
            try flags(database, run: run.id) == [
                [String(ids[1]), "2", "2.00", "3.30", "1.30", "65.00"],
                [String(ids[3]), "4", "5.00", "7.00", "2.00", "40.00"],
            ])
        #expect(
            try database.rows(
                "SELECT product_id, flags, worst_bid_id, worst_deviation, worst_deviation_pct FROM audit_products ORDER BY product_id"
            ) == [
                ["2", "1", String(ids[1]), "1.30", "65.00"],
                ["4", "1", String(ids[3]), "2.00", "40.00"],
            ])
    }

    @Test func theTwentyPercentBoundaryIsExactBothWays() throws {
        let database = try AuditTestDatabase("audit_boundary")
        let day = "2026-06-14T00:00:00Z"
        let ids = try database.insertBids([
            ("1", "10.00", "12.00", day), ("2", "10.00", "12.01", day),  // up: on the limit, one cent past
            ("3", "10.00", "8.00", day), ("4", "10.00", "7.99", day),  // down: on the limit, one cent past
            ("5", "0.3", "0.36", day), ("6", "0.3", "0.37", day),  // where 0.1-based doubles go wrong
            ("7", "0", "0.00", day), ("8", "0", "0.50", day),  // current 0: still / moved
        ])
        let run = try audit(database)
        #expect(run.bidsReviewed == 8)
        #expect(run.bidsFlagged == 4)
        #expect(
            try flags(database, run: run.id) == [
                [String(ids[1]), "2", "10.00", "12.01", "2.01", "20.10"],
                [String(ids[3]), "4", "10.00", "7.99", "-2.01", "-20.10"],
                [String(ids[5]), "6", "0.3", "0.37", "0.07", "23.33"],
                [String(ids[7]), "8", "0", "0.50", "0.50", nil],
            ])
    }

    @Test func theWindowIncludesItsStartAndExcludesItsEnd() throws {
        let database = try AuditTestDatabase("audit_edges")
        let ids = try database.insertBids([
            ("1", "1.00", "2.00", "2026-06-08T02:00:00Z"),  // exactly as_of - 7 days: included
            ("2", "1.00", "2.00", "2026-06-08T01:59:59.999999Z"),  // a microsecond earlier: excluded
            ("3", "1.00", "2.00", "2026-06-15T01:59:59.999999Z"),  // a microsecond before as_of: included
            ("4", "1.00", "2.00", "2026-06-15T02:00:00Z"),  // exactly as_of: excluded
            ("5", "1.00", "2.00", "2026-06-15T04:00:00+02:00"),  // the same instant written with an offset: excluded
        ])
        let run = try audit(database)
        #expect(run.bidsReviewed == 2)
        #expect(try flags(database, run: run.id).map { $0[0] } == [String(ids[0]), String(ids[2])])
    }

    @Test func anEmptyWindowIsASuccessfulRunWithNothingInIt() throws {
        let database = try AuditTestDatabase("audit_empty")
        try database.insertBids([("1", "1.00", "5.00", "2026-01-01T00:00:00Z")])
        let run = try audit(database)
        #expect(run.status == .succeeded)
        #expect(run.bidsReviewed == 0)
        #expect(run.bidsFlagged == 0)
        #expect(try database.count(AuditTestDatabase.flags) == 0)
        #expect(try database.rows("SELECT sum(bids), count(*) FROM audit_deviation_bands") == [["0", "13"]])
    }

    @Test func everyReviewedBidIsCountedInExactlyOneBand() throws {
        let database = try AuditTestDatabase("audit_bands")
        let day = "2026-06-14T00:00:00Z"
        try database.insertBids([
            ("1", "10.00", "10.00", day), ("2", "10.00", "12.00", day), ("3", "10.00", "12.01", day),
            ("4", "10.00", "0.00", day),
            ("5", "10.00", "25.00", day), ("6", "0", "1.00", day), ("7", "10.00", "9.60", day),
            ("8", "2500", "3000.10", day),
        ])
        _ = try audit(database)
        let bands = try database.rows("SELECT label, bids FROM audit_deviation_bands WHERE bids > 0 ORDER BY band")
        #expect(
            bands == [
                ["[-100%, -50%)", "1"], ["[-5%, 0%)", "1"], ["0%", "1"], ["(10%, 20%]", "1"], ["(20%, 50%]", "2"],
                ["> 100%", "1"], ["n/a (current CPC 0)", "1"],
            ])
    }

    @Test func auditingTheSameInstantAgainReplacesTheRun() throws {
        let database = try AuditTestDatabase("audit_rerun")
        try database.insertBids(AuditTestDatabase.legacyBids)
        let first = try audit(database)
        let late = try database.insertBids([("9", "1.00", "9.00", "2026-06-14T23:00:00Z")])
        let second = try audit(database)
        #expect(second.id == first.id)
        #expect(second.bidsReviewed == 4)
        #expect(second.bidsFlagged == 3)
        #expect(try database.count("audit_runs") == 1)
        #expect(try database.count(AuditTestDatabase.flags) == 3)
        #expect(try database.count("audit_products") == 3)
        #expect(try database.count("audit_deviation_bands") == 13)
        #expect(try flags(database, run: second.id).last?[0] == String(late[0]))
        // Another threshold for the same instant replaces the rule too.
        let third = try audit(database, threshold: "0.70")
        #expect(third.id == first.id)
        #expect(third.threshold.description == "0.70")
        #expect(third.bidsFlagged == 1)
        #expect(try database.count(AuditTestDatabase.flags) == 1)
    }

    @Test func concurrentAttemptsAtTheSameInstantTakeTurns() async throws {
        let database = try AuditTestDatabase("audit_concurrent")
        try database.insertBids(AuditTestDatabase.legacyBids)
        let runner = database.runner()
        let runs = try await withThrowingTaskGroup(of: AuditRunRecord.self) { group in
            for _ in 0..<4 {
                group.addTask { try runner.run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf)) }
            }
            var runs: [AuditRunRecord] = []
            for try await run in group { runs.append(run) }
            return runs
        }
        #expect(Set(runs.map(\.id)).count == 1)
        #expect(runs.allSatisfy { $0.bidsFlagged == 2 })
        #expect(try database.count("audit_runs") == 1)
        #expect(try database.count(AuditTestDatabase.flags) == 2)
    }

    @Test func aBidThatCannotBeJudgedFailsTheRunLoudlyAndKeepsEarlierResults() throws {
        let database = try AuditTestDatabase("audit_unreadable")
        try database.insertBids(AuditTestDatabase.legacyBids)
        let good = try audit(database)
        // numeric accepts NaN and the CHECK (current_cpc >= 0) lets it through; no exact rule can judge it.
        let bad = try database.insertBids([("7", "NaN", "1.00", "2026-06-14T00:00:00Z")])
        #expect {
            try audit(database)
        } throws: { error in
            "\(error)".contains("bid \(bad[0]) cannot be audited")
        }
        let kept = try database.rows(
            "SELECT status, bids_flagged, error FROM audit_runs WHERE id = $1", [String(good.id)])
        #expect(kept == [["succeeded", "2", nil]])
        #expect(try database.count(AuditTestDatabase.flags) == 2)
        // A first attempt at another instant is recorded as failed, with the reason.
        #expect(throws: AuditError.self) { try audit(database, asOf: "2026-06-16T02:00:00Z") }
        let failed = try database.rows(
            "SELECT status, bids_flagged, error LIKE '%cannot be audited%' FROM audit_runs WHERE as_of = '2026-06-16T02:00:00Z'"
        )
        #expect(failed == [["failed", nil, "t"]])
    }

    @Test func aCancelledRunKeepsNothing() throws {
        let database = try AuditTestDatabase("audit_cancelled")
        try database.insertBids(AuditTestDatabase.legacyBids)
        let cancellation = JobCancellation()
        cancellation.cancel()
        #expect {
            try database.runner().run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf), cancellation: cancellation)
        } throws: { error in
            if case AuditError.cancelled = error { return true }
            return false
        }
        #expect(try database.rows("SELECT status FROM audit_runs") == [["failed"]])
        #expect(try database.count(AuditTestDatabase.flags) == 0)
    }

    @Test func anyBatchSizeAndNumberOfStreamsGiveTheSameResult() throws {
        let database = try AuditTestDatabase("audit_batches")
        try database.session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT g % 7, 1.00, 100, CASE WHEN g % 5 = 0 THEN 1.50 ELSE 1.10 END, '2026-06-14T00:00:00Z'::timestamptz + g * interval '1 second'
            FROM generate_series(1, 1003) g
            """)
        let ways: [(Int, AuditFlagSearch)] = [
            (1, .streamed), (2, .streamed), (3, .streamed), (2, .byPair), (2, .byBid),
        ]
        for (parallelism, search) in ways {
            var runner = database.runner()
            runner.batchSize = 10
            runner.parallelism = parallelism
            runner.flagSearch = search
            let run = try runner.run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
            #expect(run.bidsReviewed == 1003)
            #expect(run.bidsFlagged == 200)
            #expect(try database.rows("SELECT sum(flags), count(*) FROM audit_products") == [["200", "7"]])
            #expect(try database.count(AuditTestDatabase.flags) == 200)
            #expect(try database.rows("SELECT sum(bids) FROM audit_deviation_bands") == [["1003"]])
        }
    }

    /// Finding flags by pair decides each distinct price pair once and finds its bids by
    /// equality, which ignores trailing zeros (1.5 = 1.50): every bid still keeps its own
    /// digits, and every way writes the same rows. Boundaries: 12.00 on 10.00 is exactly 20 %
    /// (not flagged), 12.01 is; a current CPC of 0 is flagged for any other price, without a
    /// percentage; a decrease keeps its sign.
    @Test func aPriceSpelledSeveralWaysKeepsEachBidsDigitsWhicheverWayFlagsAreFound() throws {
        let database = try AuditTestDatabase("audit_spellings")
        let at = "2026-06-14T10:00:00Z"
        let ids = try database.insertBids([
            ("1", "1.5", "1.90", at), ("1", "1.50", "1.90", at), ("1", "1.500000", "1.90", at),
            ("2", "10.00", "12.00", at), ("2", "10.00", "12.01", at), ("2", "10", "12.01", at),
            ("3", "0", "0", at), ("3", "0", "0.01", at), ("4", "10", "7.99", at), ("4", "10.000", "7.99", at),
        ])
        var found: [[[String?]]] = []
        for search in [AuditFlagSearch.byPair, .byBid, .streamed, .automatic] {
            var runner = database.runner()
            runner.flagSearch = search
            let run = try runner.run(AuditParameters(asOf: AuditTestDatabase.date("2026-06-15T02:00:00Z")))
            #expect(run.bidsReviewed == 10 && run.bidsFlagged == 8)
            found.append(
                try database.rows(
                    """
                    SELECT bid_id::text, product_id::text, current_cpc::text, adjusted_cpc::text, deviation::text,
                           deviation_pct::text
                    FROM \(AuditTestDatabase.flags) WHERE run_id = $1 ORDER BY flags.bid_id
                    """, [String(run.id)]))
        }
        let id = ids.map { String($0) }
        #expect(
            found[0] == [
                [id[0], "1", "1.5", "1.90", "0.40", "26.67"], [id[1], "1", "1.50", "1.90", "0.40", "26.67"],
                [id[2], "1", "1.500000", "1.90", "0.400000", "26.67"], [id[4], "2", "10.00", "12.01", "2.01", "20.10"],
                [id[5], "2", "10", "12.01", "2.01", "20.10"], [id[7], "3", "0", "0.01", "0.01", nil],
                [id[8], "4", "10", "7.99", "-2.01", "-20.10"], [id[9], "4", "10.000", "7.99", "-2.010", "-20.10"],
            ])
        #expect(found.allSatisfy { $0 == found[0] })
    }

    /// A long audit is never silent: progress is reported while the window streams, counting up
    /// to what the run reviewed, against the planner's estimate of the window.
    @Test func progressIsReportedWhileTheWindowStreams() throws {
        let database = try AuditTestDatabase("audit_progress")
        try database.session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT g % 7, 1.00, 100, 1.10, '2026-06-14T00:00:00Z'::timestamptz + g * interval '1 second'
            FROM generate_series(1, 3003) g
            """)
        try database.session.execute("ANALYZE bids")
        let reports = Mutex<[AuditProgress]>([])
        var runner = database.runner()
        runner.batchSize = 1
        runner.flagSearch = .streamed  // the primary's own ways report once, after their first scan
        runner.progressInterval = .milliseconds(5)
        runner.progress = { progress in reports.withLock { $0.append(progress) } }
        let run = try runner.run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
        Thread.sleep(forTimeInterval: 0.05)  // a report racing the end of the run lands before we read
        let seen = reports.withLock { $0 }
        #expect(run.bidsReviewed == 3003)
        // At least one report: 3,003 one-row fetches outlast the 5-ms interval many times over, but
        // on a loaded machine the reporting thread may get the CPU only once or twice in that time.
        #expect(seen.count >= 1, "\(seen.count) reports")
        #expect(seen.map(\.reviewed) == seen.map(\.reviewed).sorted())
        #expect(seen.allSatisfy { $0.reviewed <= 3003 && $0.expected != nil })
        #expect(seen.allSatisfy { ($0.fraction ?? 1) < 1 })
    }

    @Test func theWindowQueryUsesTheTimeIndex() throws {
        let database = try AuditTestDatabase("audit_plan")
        // Ninety days of bids: a seven-day window is a small range of the index.
        try database.session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT g % 100, 1.00, 100, 1.00, '2026-03-17T02:00:00Z'::timestamptz + g * interval '4 minutes'
            FROM generate_series(1, 32400) g
            """)
        try database.session.execute("ANALYZE bids")
        let plan = try database.rows(
            """
            EXPLAIN SELECT id, product_id, current_cpc, adjusted_cpc FROM bids
            WHERE calculated_at >= '2026-06-08T02:00:00Z' AND calculated_at < '2026-06-15T02:00:00Z' ORDER BY calculated_at
            """
        ).compactMap { $0.first ?? nil }.joined(separator: "\n")
        #expect(plan.contains("bids_calculated_at_idx"))
        #expect(!plan.contains("Sort"))
    }
}
