import Audit
import BidCore
import Foundation
import Postgres
import ServiceTestSupport
import Testing

/// The report formats, rendered from runs stored in real PostgreSQL.
@Suite struct AuditReportPostgresTests {
    private func report(_ database: AuditTestDatabase, run: Int64, _ format: AuditReportFormat, rowLimit: Int = 1000)
        throws -> String
    {
        let path = FileManager.default.temporaryDirectory.path + "/audit-report-\(UUID().uuidString).\(format.rawValue)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try AuditExporter(connectionString: database.connectionString, rowLimit: rowLimit).export(
            runID: run, format: format, to: AuditOutput(path: path))
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    private func legacyRun(_ name: String) throws -> (AuditTestDatabase, AuditRunRecord, [Int64]) {
        let database = try AuditTestDatabase(name)
        let ids = try database.insertBids(AuditTestDatabase.legacyBids)
        let run = try database.runner().run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
        return (database, run, ids)
    }

    @Test func textReportOfTheLegacyExample() throws {
        let (database, run, ids) = try legacyRun("report_text")
        #expect(
            try report(database, run: run.id, .text) == """
                Bid audit report (run \(run.id))
                Period:         2026-06-08T02:00:00Z to 2026-06-15T02:00:00Z (7d, end excluded)
                Rule:           flagged when |adjusted CPC - current CPC| > 20% of current CPC
                Bids reviewed:  3
                Bids flagged:   2

                Flagged bids, largest difference first:
                Bid  Product  Current CPC  Adjusted CPC  Difference  Deviation  Threshold
                  \(ids[3])        4         5.00          7.00       +2.00    +40.00%       1.00
                  \(ids[1])        2         2.00          3.30       +1.30    +65.00%       0.40

                Products with flagged bids, most flags first:
                Product  Flags  Worst bid  Worst difference  Worst deviation
                      4      1          \(ids[3])             +2.00          +40.00%
                      2      1          \(ids[1])             +1.30          +65.00%

                """)
    }

    @Test func textReportSaysSoWhenNothingIsFlaggedOrTheWindowIsEmpty() throws {
        let database = try AuditTestDatabase("report_clean")
        try database.insertBids([
            ("1", "1.00", "1.10", "2026-06-14T10:00:00Z"), ("2", "3.00", "3.00", "2026-06-14T11:00:00Z"),
        ])
        let clean = try database.runner().run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
        let text = try report(database, run: clean.id, .text)
        #expect(
            text.hasSuffix(
                """
                Bids reviewed:  2
                Bids flagged:   0

                No bids flagged: all 2 bids are within 20% of their current CPC.

                """))
        let empty = try database.runner().run(AuditParameters(asOf: AuditTestDatabase.date("2025-01-01T00:00:00Z")))
        #expect(
            try report(database, run: empty.id, .text).hasSuffix(
                """
                Bids reviewed:  0
                Bids flagged:   0

                No bids in the window: nothing to audit.

                """))
    }

    @Test func listsAreCappedAndSayHowManyMoreThereAre() throws {
        let (database, run, ids) = try legacyRun("report_capped")
        let text = try report(database, run: run.id, .text, rowLimit: 1)
        #expect(text.contains("  \(ids[3])        4         5.00          7.00       +2.00    +40.00%       1.00\n"))
        #expect(!text.contains("3.30"))
        #expect(
            text.contains(
                "... and 1 more flagged bids (the 1 largest differences are listed; --format csv or json lists all)\n"))
        #expect(text.hasSuffix("... and 1 more products\n"))
        // CSV is never capped.
        #expect(try report(database, run: run.id, .csv, rowLimit: 1).split(separator: "\n").count == 3)
    }

    @Test func csvCarriesEveryFlagWithExactDecimals() throws {
        let (database, run, ids) = try legacyRun("report_csv")
        #expect(
            try report(database, run: run.id, .csv) == """
                run_id,bid_id,product_id,current_cpc,adjusted_cpc,deviation,deviation_pct,allowed_deviation,competitor_price,competitor_observed_at
                \(run.id),\(ids[1]),2,2.00,3.30,1.30,65.00,0.40,,
                \(run.id),\(ids[3]),4,5.00,7.00,2.00,40.00,1.00,,

                """)
    }

    /// Found by pair or streamed, a run keeps its flagged price pairs, not a row per flagged bid,
    /// and the bounds of the flagged ids: a bid written into the audited window afterwards (a
    /// backfill), even at a flagged pair, is not one of its flags.
    @Test func flagsAreStoredPerPricePairAndALaterBackfillIsNotAFlag() throws {
        for search in [AuditFlagSearch.byPair, .streamed] {
            let database = try AuditTestDatabase("report_pairs_\(search)")
            let ids = try database.insertBids(
                AuditTestDatabase.legacyBids + [("5", "5.0", "7.00", "2026-06-11T10:00:00Z")])
            var runner = database.runner()
            runner.flagSearch = search
            let run = try runner.run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
            #expect(run.bidsFlagged == 3)
            #expect(try database.count("audit_flags") == 0)
            // 5.00 -> 7.00 and 5.0 -> 7.00 are one pair (numeric equality), with two bids.
            #expect(
                try database.rows(
                    "SELECT adjusted_cpc::text, deviation_pct::text, bids::text FROM audit_flag_pairs ORDER BY 1"
                ) == [["3.30", "65.00", "1"], ["7.00", "40.00", "2"]])
            #expect(
                try database.rows("SELECT first_bid_id::text, last_bid_id::text FROM audit_runs")
                    == [[String(ids[1]), String(ids[4])]])
            try database.insertBids([("6", "5.00", "7.00", "2026-06-12T10:00:00Z")])
            #expect(
                try report(database, run: run.id, .csv) == """
                    run_id,bid_id,product_id,current_cpc,adjusted_cpc,deviation,deviation_pct,allowed_deviation,competitor_price,competitor_observed_at
                    \(run.id),\(ids[1]),2,2.00,3.30,1.30,65.00,0.40,,
                    \(run.id),\(ids[3]),4,5.00,7.00,2.00,40.00,1.00,,
                    \(run.id),\(ids[4]),5,5.0,7.00,2.00,40.00,1.00,,

                    """)
        }
    }

    /// The text report's worst flags of a run stored per pair, at each row limit: read among the
    /// bids of the largest difference alone while those are enough (limits 2 and 3), else from
    /// every flag (limit 4). Neither a bid of that difference at an unflagged pair (20.00 -> 22.00,
    /// the lowest id), nor one outside the window, nor one written after the run is listed.
    @Test func theWorstFlagsOfARunStoredPerPairAreTheLargestDifferencesAtEveryLimit() throws {
        let database = try AuditTestDatabase("report_worst_pairs")
        let ids = try database.insertBids([
            ("1", "20.00", "22.00", "2026-06-09T10:00:00Z"),
            ("2", "2.00", "3.30", "2026-06-13T10:00:00Z"),
            ("3", "5.00", "7.00", "2026-06-10T10:00:00Z"),
            ("4", "4.00", "6.00", "2026-06-11T10:00:00Z"),
            ("5", "5.0", "7.00", "2026-06-12T10:00:00Z"),
            ("6", "1.00", "3.00", "2026-06-07T01:00:00Z"),
        ])
        var runner = database.runner()
        runner.flagSearch = .byPair
        let run = try runner.run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
        #expect(run.bidsFlagged == 4)
        try database.insertBids([("7", "4.00", "6.00", "2026-06-09T10:00:00Z")])
        func listed(rowLimit: Int) throws -> [String] {
            let text = try report(database, run: run.id, .text, rowLimit: rowLimit)
            let flags = text.components(separatedBy: "Flagged bids, largest difference first:\n")[1]
                .components(separatedBy: "\n\n")[0].split(separator: "\n").dropFirst()
            return flags.filter { !$0.hasPrefix("...") }.map { line in
                let fields = line.split(separator: " ")
                return [fields[0], fields[2], fields[3], fields[4], fields[5]].joined(separator: " ")
            }
        }
        let worst = [
            "\(ids[2]) 5.00 7.00 +2.00 +40.00%", "\(ids[3]) 4.00 6.00 +2.00 +50.00%",
            "\(ids[4]) 5.0 7.00 +2.00 +40.00%", "\(ids[1]) 2.00 3.30 +1.30 +65.00%",
        ]
        #expect(try listed(rowLimit: 2) == Array(worst.prefix(2)))
        #expect(try listed(rowLimit: 3) == Array(worst.prefix(3)))
        #expect(try listed(rowLimit: 4) == worst)
        #expect(try listed(rowLimit: 1000) == worst)
    }

    /// Found by bid (the way for windows where nearly every bid is a pair of its own), the flags
    /// are stored one row per bid, with their values, and the reports read them from there.
    @Test func flagsFoundByBidAreStoredPerBid() throws {
        let database = try AuditTestDatabase("report_by_bid_stored")
        let ids = try database.insertBids(AuditTestDatabase.legacyBids)
        var runner = database.runner()
        runner.flagSearch = .byBid
        let run = try runner.run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
        #expect(try database.count("audit_flag_pairs") == 0)
        #expect(
            try database.rows("SELECT bid_id::text, deviation::text FROM audit_flags ORDER BY bid_id")
                == [[String(ids[1]), "1.30"], [String(ids[3]), "2.00"]])
        #expect(try database.rows("SELECT first_bid_id, last_bid_id FROM audit_runs") == [[nil, nil]])
        try database.insertBids([("6", "5.00", "7.00", "2026-06-12T10:00:00Z")])
        #expect(
            try report(database, run: run.id, .csv) == """
                run_id,bid_id,product_id,current_cpc,adjusted_cpc,deviation,deviation_pct,allowed_deviation,competitor_price,competitor_observed_at
                \(run.id),\(ids[1]),2,2.00,3.30,1.30,65.00,0.40,,
                \(run.id),\(ids[3]),4,5.00,7.00,2.00,40.00,1.00,,

                """)
    }

    /// A run audited before flags were stored per pair keeps its rows in `audit_flags` (no bid
    /// bounds) and is reported from them, even when its bids are gone.
    @Test func aRunWithFlagsStoredPerBidIsReportedFromThem() throws {
        let database = try AuditTestDatabase("report_stored_flags")
        let run = try database.runner().run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
        try database.session.execute(
            "UPDATE audit_runs SET bids_reviewed = 3, bids_flagged = 2 WHERE id = $1", [String(run.id)])
        try database.session.execute(
            """
            INSERT INTO audit_flags VALUES ($1, 41, 2, 2.00, 3.30, 1.30, 65.00), ($1, 43, 4, 5.00, 7.00, 2.00, 40.00)
            """, [String(run.id)])
        #expect(
            try report(database, run: run.id, .csv) == """
                run_id,bid_id,product_id,current_cpc,adjusted_cpc,deviation,deviation_pct,allowed_deviation,competitor_price,competitor_observed_at
                \(run.id),41,2,2.00,3.30,1.30,65.00,0.40,,
                \(run.id),43,4,5.00,7.00,2.00,40.00,1.00,,

                """)
        let text = try report(database, run: run.id, .text)
        #expect(text.contains("Bids flagged:   2\n"), "\(text)")
        #expect(text.contains("Flagged bids, largest difference first:\nBid  Product"), "\(text)")
        #expect(text.contains(" 43        4         5.00          7.00       +2.00    +40.00%"), "\(text)")
    }

    @Test func jsonCarriesTheRunBandsProductsAndEveryFlag() throws {
        let (database, run, ids) = try legacyRun("report_json")
        let text = try report(database, run: run.id, .json)
        let root = try JSONParser.parse(text)
        guard let summary = root["run"], case .array(let bands)? = root["bands"],
            case .array(let products)? = root["top_products"],
            case .array(let flags)? = root["flags"]
        else {
            Issue.record("missing members: \(text)")
            return
        }
        #expect(summary["bids_reviewed"] == .number("3"))
        #expect(summary["threshold"] == .number("0.20"))
        #expect(summary["as_of"] == .string("2026-06-15T02:00:00Z"))
        #expect(bands.count == 13)
        #expect(products.count == 2)
        #expect(flags.count == 2)
        #expect(
            text.contains(
                #"{"bid_id":\#(ids[1]),"product_id":2,"current_cpc":2.00,"adjusted_cpc":3.30,"deviation":1.30,"deviation_pct":65.00,"allowed_deviation":0.40,"competitor_price":null,"competitor_observed_at":null}"#
            ))
    }

    @Test func htmlIsOneSelfContainedPageWithChartsAndNoScript() throws {
        let (database, run, _) = try legacyRun("report_html")
        let html = try report(database, run: run.id, .html)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.components(separatedBy: "<svg").count - 1 == 2)
        #expect(!html.lowercased().contains("<script"))
        // The only http:// strings allowed are the SVG namespace declarations.
        #expect(!html.contains("http://") || html.components(separatedBy: "http://").count - 1 == 2)
        #expect(!html.contains("https://"))
        #expect(
            html.contains(
                "<td>5.00</td><td>7.00</td><td class=\"flag\">+2.00</td><td class=\"flag\">+40.00%</td><td>1.00</td>"))
        #expect(html.contains("product 4"))
    }

    @Test func competitorPricesAreShownWhenKnown() throws {
        let database = try AuditTestDatabase("report_competitor")
        let ids = try database.insertBids(AuditTestDatabase.legacyBids)
        try database.createCompetitorPrices([
            ("2", "2.95", "2026-06-14T00:00:00Z"),
            ("2", "3.10", "2026-06-15T01:00:00Z"),  // the latest before as_of
            ("2", "9.99", "2026-06-15T03:00:00Z"),  // after as_of: not shown
            ("1", "1.05", "2026-06-14T00:00:00Z"),  // product 1 is not flagged
        ])
        let run = try database.runner().run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
        let text = try report(database, run: run.id, .text)
        #expect(
            text.contains(
                """
                Bid  Product  Current CPC  Adjusted CPC  Difference  Deviation  Threshold  Competitor price  Observed at
                  \(ids[3])        4         5.00          7.00       +2.00    +40.00%       1.00                 -  -
                  \(ids[1])        2         2.00          3.30       +1.30    +65.00%       0.40              3.10  2026-06-15T01:00:00Z
                """))
        #expect(
            try report(database, run: run.id, .csv).contains(
                "\(run.id),\(ids[1]),2,2.00,3.30,1.30,65.00,0.40,3.10,2026-06-15T01:00:00Z\n"))
        #expect(try report(database, run: run.id, .html).contains("<td>3.10</td><td>2026-06-15T01:00:00Z</td>"))
    }

    @Test func anUnknownRunIsAnError() throws {
        let database = try AuditTestDatabase("report_unknown")
        #expect(throws: AuditError.self) { try report(database, run: 999, .text) }
        #expect(throws: AuditError.self) { try report(database, run: 999, .csv) }
    }
}
