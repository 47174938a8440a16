import BidCore
import Foundation
import Postgres
import ServiceTestSupport
import Testing

@testable import Audit

/// The set-based audit gives the report the row-by-row audit gave, on the same seeded bids.
///
/// `Golden/audit-equivalence.{json,csv}` were written by the row-by-row runner (the Swift
/// judgement of every streamed bid, before the audit moved into PostgreSQL) from exactly this
/// seed, with run ids and timestamps replaced by placeholders. Set AUDIT_GOLDEN_WRITE=1 to write
/// them again (only ever from a runner known to be right).
@Suite struct AuditEquivalencePostgresTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static let asOf = AuditTestDatabase.date("2026-06-15T02:00:00Z")

    /// Boundaries of the rule and of the bands, rounding of the percentage half away from zero,
    /// current CPCs of 0, decreases, many decimals; then 5,000 generated bids over and around the
    /// window (some outside it on either side).
    static func seed(_ database: AuditTestDatabase) throws {
        let inWindow = "2026-06-14T10:00:00Z"
        var bids: [(String, String, String, String)] = [
            ("1", "10.00", "12.00", inWindow), ("1", "10.00", "12.01", inWindow), ("2", "10.00", "8.00", inWindow),
            ("2", "10.00", "7.99", inWindow), ("3", "0", "0", inWindow), ("3", "0", "1.50", inWindow),
            ("4", "40", "48.01", inWindow), ("4", "40", "31.99", inWindow), ("5", "3", "3.61", inWindow),
            ("5", "0.333333333333333333", "0.40", inWindow), ("6", "12.345", "13.58", inWindow),
            ("7", "99999999.99", "0.01", inWindow), ("7", "0.0001", "99999999.99", inWindow),
            ("1e3", "2.5", "3.00", inWindow), ("12.5", "2.5", "3.01", inWindow),
        ]
        for adjusted in ["100", "105", "105.01", "110", "110.01", "120", "120.01", "150", "150.01", "200", "200.01"] {
            bids.append(("8", "100", adjusted, inWindow))
        }
        for adjusted in ["95", "94.99", "90", "89.99", "80", "79.99", "50", "49.99", "0"] {
            bids.append(("9", "100", adjusted, inWindow))
        }
        try database.insertBids(bids)
        try database.session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT 100 + g % 37, (g % 997 + 1) / 100.0, 100, round((g % 997 + 1) / 100.0 * (0.5 + (g % 23) / 20.0), 2),
                   timestamptz '2026-06-07T00:00:00Z' + g * interval '600 seconds'
            FROM generate_series(1, 1200) g
            """)
    }

    /// Run ids and instants differ between runs by design; everything else must not.
    static func normalised(_ text: String) throws -> String {
        var text = text
        let patterns = [
            (#""(run_id|id|duration_ms)":\d+"#, #""$1":N"#),
            (#"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"#, "T"),
            (#"(?m)^\d+,"#, "N,"),
        ]
        for (pattern, template) in patterns {
            let expression = try NSRegularExpression(pattern: pattern)
            text = expression.stringByReplacingMatches(
                in: text, range: NSRange(text.startIndex..., in: text), withTemplate: template)
        }
        return text
    }

    /// On the table of migrations 0001-0002 and on the partitioned one of 0008; with the flags
    /// found by pair and by bid on the primary, and streamed through `bidengine` (a replica's way).
    @Test(arguments: [false, true], [AuditFlagSearch.byPair, .byBid, .streamed])
    func theReportIsTheOneTheRowByRowAuditGave(partitioned: Bool, search: AuditFlagSearch) throws {
        let database = try AuditTestDatabase("audit_equivalence_\(partitioned)_\(search)", partitioned: partitioned)
        try Self.seed(database)
        var runner = database.runner()
        runner.flagSearch = search
        let run = try runner.run(AuditParameters(asOf: Self.asOf))
        for format in [AuditReportFormat.json, .csv] {
            let path = FileManager.default.temporaryDirectory.path + "/audit-eq-\(UUID().uuidString)"
            defer { try? FileManager.default.removeItem(atPath: path) }
            try AuditExporter(connectionString: database.connectionString, rowLimit: 1000).export(
                runID: run.id, format: format, to: AuditOutput(path: path))
            let report = try Self.normalised(try String(contentsOfFile: path, encoding: .utf8))
            let goldenPath = Self.golden.appendingPathComponent("audit-equivalence.\(format.rawValue)").path
            if ProcessInfo.processInfo.environment["AUDIT_GOLDEN_WRITE"] == "1" {
                try report.write(toFile: goldenPath, atomically: true, encoding: .utf8)
            }
            #expect(report == (try String(contentsOfFile: goldenPath, encoding: .utf8)), "\(format.rawValue)")
        }
        #expect(run.bidsReviewed == 1_043 && run.bidsFlagged == 665)
    }

    /// PostgreSQL's verdicts against `AuditRule` and `AuditDeviationBand` (the same rule stated in
    /// Swift) on 20,000 bids with scales from 0 to 6 and thresholds with 0 to 3 decimals.
    @Test(arguments: ["0.20", "0", "0.055", "1.5"]) func postgresJudgesEveryBidAsTheSwiftRuleDoes(threshold: String)
        throws
    {
        let database = try AuditTestDatabase("audit_oracle_\(threshold.replacingOccurrences(of: ".", with: "_"))")
        try database.session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT g % 11, (g * 7919 % 100000) / power(10, g % 7)::numeric, 100,
                   round((g * 7919 % 100000) / power(10, g % 7)::numeric * ((g * 104729) % 300) / 100, 2),
                   timestamptz '2026-06-14T00:00:00Z'
            FROM generate_series(1, 20000) g
            """)
        let rule = try AuditRule(threshold: try FixedDecimal(parsing: threshold))
        let run = try database.runner().run(AuditParameters(asOf: Self.asOf, rule: rule))
        var bands = [Int64](repeating: 0, count: AuditDeviationBand.all.count)
        var expected: [String] = []
        for row in try database.rows("SELECT id, current_cpc, adjusted_cpc FROM bids ORDER BY id") {
            let assessment = try rule.assess(
                currentCPC: try FixedDecimal(parsing: row[1] ?? ""),
                adjustedCPC: try FixedDecimal(parsing: row[2] ?? ""))
            bands[AuditDeviationBand.index(of: assessment)] += 1
            guard assessment.isFlagged else { continue }
            expected.append("\(row[0] ?? "") \(assessment.deviation) \(assessment.percent.map { "\($0)" } ?? "-")")
        }
        let flags = try database.rows(
            "SELECT bid_id || ' ' || deviation || ' ' || coalesce(deviation_pct::text, '-') FROM \(AuditTestDatabase.flags) WHERE run_id = $1 ORDER BY bid_id",
            [String(run.id)])
        #expect(flags.map { $0[0] ?? "" } == expected)
        let stored = try database.rows(
            "SELECT bids FROM audit_deviation_bands WHERE run_id = $1 ORDER BY band", [String(run.id)])
        #expect(stored.map { Int64($0[0] ?? "") ?? -1 } == bands)
        #expect(run.bidsReviewed == 20_000)
    }

    /// The products, flags and bounds of a run found by pair equal those found by bid, and are
    /// `flags` and `products` exactly (text rows, see below). `listed`: whether the flagged pairs
    /// are every combination of their current and adjusted CPCs, so that the per-product
    /// aggregate compares each bid with those prices instead of joining it to the pairs.
    private func foundByPairAsByBid(
        _ name: String, bids: [(String, String, String, String)], listed: Bool, flags: [String],
        products: [String], bounds: [String?]
    ) throws {
        let productRows = """
            SELECT product_id || ' ' || flags || ' ' || worst_bid_id || ' ' || worst_deviation || ' '
                   || coalesce(worst_deviation_pct::text, '-')
            FROM audit_products ORDER BY product_id
            """
        let flagRows = """
            SELECT bid_id || ' ' || product_id || ' ' || deviation || ' ' || coalesce(deviation_pct::text, '-')
            FROM \(AuditTestDatabase.flags) ORDER BY bid_id
            """
        var found: [AuditFlagSearch: [[String?]]] = [:]
        for search in [AuditFlagSearch.byPair, .byBid] {
            let database = try AuditTestDatabase("audit_\(name)_\(search)", partitioned: true)
            try database.insertBids(bids)
            var runner = database.runner()
            runner.flagSearch = search
            let run = try runner.run(AuditParameters(asOf: Self.asOf))
            #expect(run.bidsReviewed == Int64(bids.count) && run.bidsFlagged == Int64(flags.count), "\(search)")
            found[search] = try database.rows(productRows) + database.rows(flagRows)
            guard search == .byPair else { continue }
            #expect(try database.rows(productRows).map { $0[0] ?? "" } == products)
            #expect(try database.rows(flagRows).map { $0[0] ?? "" } == flags)
            #expect(try database.rows("SELECT first_bid_id, last_bid_id FROM audit_runs") == [bounds])
            let combinations = """
                SELECT count(*) = count(DISTINCT current_cpc) * count(DISTINCT adjusted_cpc) FROM audit_flag_pairs
                """
            #expect(try database.rows(combinations) == [[listed ? "t" : "f"]])
        }
        #expect(found[.byPair] == found[.byBid])
    }

    /// Flagged pairs that are every combination of two current and two adjusted CPCs (spelled
    /// several ways): each bid is compared with those four prices, and the worst flag's
    /// percentage is its pair's.
    @Test func flaggedPairsOfEveryCombinationOfTheirPricesGiveTheProductsFoundByBid() throws {
        let at = "2026-06-14T10:00:00Z"
        try foundByPairAsByBid(
            "price_list",
            bids: [
                ("1", "1.00", "2.00", at), ("1", "1.0", "0.50", at), ("2", "0.40", "2.00", at),
                ("2", "0.4", "0.50", at),
                ("3", "1.00", "1.10", at), ("3", "0.40", "0.45", at), ("1", "0.400", "2.0", at),
                ("3", "1.00", "2.00", at),
            ],
            listed: true,
            flags: [
                "1 1 1.00 100.00", "2 1 -0.50 -50.00", "3 2 1.60 400.00", "4 2 0.10 25.00", "7 1 1.600 400.00",
                "8 3 1.00 100.00",
            ],
            products: ["1 3 7 1.600 400.00", "2 2 3 1.60 400.00", "3 1 8 1.00 100.00"], bounds: ["1", "8"])
    }

    /// Flagged pairs that are not every combination of their prices: the join decides, and a bid
    /// whose two prices each occur in some flagged pair without its pair being flagged
    /// (10.00 → 8.00 and 2.5 → 3.00, exactly at the limit) is no flag. (`adjusted_cpc` keeps 2
    /// decimals: 3.010 is stored as 3.01.)
    @Test func flaggedPairsOfSomeCombinationsOfTheirPricesGiveTheProductsFoundByBid() throws {
        let at = "2026-06-14T10:00:00Z"
        try foundByPairAsByBid(
            "price_join",
            bids: [
                ("1", "10.00", "12.01", at), ("1", "10.00", "8.00", at), ("2", "5", "8.00", at),
                ("2", "2.5", "3.00", at),
                ("3", "2.50", "3.01", at), ("3", "2.5", "3.010", at), ("4", "1.5", "3.00", at),
                ("4", "10.00", "12.00", at),
                ("5", "0", "8.00", at), ("5", "10.0", "12.010", at), ("1", "5.00", "8.0", at),
            ],
            listed: false,
            flags: [
                "1 1 2.01 20.10", "3 2 3.00 60.00", "5 3 0.51 20.40", "6 3 0.51 20.40", "7 4 1.50 100.00", "9 5 8.00 -",
                "10 5 2.01 20.10", "11 1 3.00 60.00",
            ],
            products: [
                "1 2 11 3.00 60.00", "2 1 3 3.00 60.00", "3 2 5 0.51 20.40", "4 1 7 1.50 100.00", "5 2 9 8.00 -",
            ],
            bounds: ["1", "11"])
    }
}
