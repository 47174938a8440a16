import BidCore
import Foundation
import Postgres

/// `bidengine audit --as-of …` over a seeded table, timed as a child process, with its peak RSS
/// from `wait4`.
///
/// Skipped when the binary has no `audit` subcommand. Rows are loaded with COPY and spread over
/// the day before the as-of instant (inside the audit's default 7-day window), priced by the same
/// rules the server uses; one ROAS in eight is 150, a 50 % deviation, so one bid in eight is
/// flagged at the default 20 % threshold and the audit has flags to write as well as rows to read.
enum AuditBenchmark {
    struct Outcome: Codable, Sendable {
        let rows: Int
        let asOf: String
        let seedSeconds: Double
        let auditSeconds: Double
        let auditCPUSeconds: Double
        /// `SELECT count(*)` of the same window, the fastest of one run before and one after the
        /// audit (after a discarded warm-up): the least PostgreSQL can do with these rows.
        let countSeconds: Double
        let peakResidentMegabytes: Double
        let exitCode: Int32?
        /// What the audit recorded in `audit_runs` for this as-of (nil when it recorded nothing).
        let bidsReviewed: Int?
        let bidsFlagged: Int?
        /// The audit's last output lines, for the report.
        let outputTail: String
    }

    static func isAvailable(serverBinary: String) -> Bool {
        guard let (exit, output) = try? Subprocess.capture(serverBinary, ["audit", "--help"], timeout: 30) else {
            return false
        }
        return exit.succeeded && output.contains("--as-of")
    }

    static func run(serverBinary: String, database: BenchDatabase, rows: Int, asOf: String, workDirectory: String)
        throws -> Outcome
    {
        try database.truncateBids()
        let seedStart = MonotonicClock.now()
        try seed(rows: rows, dayBefore: asOf, database: database)
        _ = try database.execute("ANALYZE bids")
        let seedSeconds = Double(MonotonicClock.now() - seedStart) / 1e9
        _ = try countWindow(asOf: asOf, database: database)
        let countBefore = try countWindow(asOf: asOf, database: database)

        let logPath = workDirectory + "/audit.log"
        let child = try Subprocess(
            executable: serverBinary,
            arguments: ["audit", "--as-of", asOf, "--output", workDirectory + "/audit-report.txt"],
            environment: ["DATABASE_URL": database.connectionString, "LOG_LEVEL": "warning"], outputPath: logPath)
        let exit = child.wait(seconds: 3600)
        let countAfter = try countWindow(asOf: asOf, database: database)
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        let recorded = try? database.execute(
            "SELECT bids_reviewed, bids_flagged FROM audit_runs WHERE as_of = $1::timestamptz", [asOf]
        ).rows.first
        try database.truncateBids()
        return Outcome(
            rows: rows, asOf: asOf, seedSeconds: seedSeconds, auditSeconds: exit.wallSeconds,
            auditCPUSeconds: exit.cpuSeconds, countSeconds: min(countBefore, countAfter),
            peakResidentMegabytes: Double(exit.peakResidentBytes) / 1_048_576, exitCode: exit.code,
            bidsReviewed: recorded?[0].flatMap { Int($0) }, bidsFlagged: recorded?[1].flatMap { Int($0) },
            outputTail: output.split(separator: "\n").suffix(5).joined(separator: "\n"))
    }

    /// Seconds for `SELECT count(*)` over the audit's default window ending at `asOf`.
    private static func countWindow(asOf: String, database: BenchDatabase) throws -> Double {
        let start = MonotonicClock.now()
        _ = try database.execute(
            """
            SELECT count(*) FROM bids
            WHERE calculated_at >= $1::timestamptz - interval '7 days' AND calculated_at < $1::timestamptz
            """, [asOf])
        return Double(MonotonicClock.now() - start) / 1e9
    }

    /// COPY in chunks of 10,000 rows. Timestamps are written as text directly (the day before
    /// `asOf`'s date, evenly spaced), which keeps generation far cheaper than the load itself.
    private static func seed(rows: Int, dayBefore asOf: String, database: BenchDatabase) throws {
        let day = try previousDay(of: asOf)
        let prices = try auditPrices()
        let session = try PostgresSession(connectionString: database.connectionString)
        defer { session.close() }
        let chunkRows = 10_000
        let chunks = stride(from: 0, to: rows, by: chunkRows).lazy.map { first -> [UInt8] in
            var chunk: [UInt8] = []
            chunk.reserveCapacity(chunkRows * 80)
            for row in first..<min(rows, first + chunkRows) {
                chunk.append(contentsOf: String(1 + row % 50_000).utf8)
                chunk.append(0x09)
                chunk.append(contentsOf: prices[row % prices.count])
                let microseconds = Int64(row) * 86_400_000_000 / Int64(max(rows, 1))
                chunk.append(contentsOf: timestamp(day: day, microseconds: microseconds).utf8)
                chunk.append(0x0A)
            }
            return chunk
        }
        try session.copyIn(
            "COPY bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) FROM STDIN", chunks: chunks)
    }

    /// `current_cpc \t target_roas \t adjusted_cpc \t` for eight bids, priced by the legacy rule.
    private static func auditPrices() throws -> [[UInt8]] {
        let cpcs = ["1.50", "0.75", "2.10", "12.345", "3", "0.05", "9.99", "4.20"]
        let roases = ["100", "105", "95", "110", "90", "150", "98", "102"]
        return try zip(cpcs, roases).map { cpcText, roasText in
            let cpc = try FixedDecimal(parsing: cpcText)
            let roas = try FixedDecimal(parsing: roasText)
            let adjusted = try LegacyPriceRules.adjustedCPC(currentCPC: cpc, targetROAS: roas)
            var text: [UInt8] = []
            for value in [cpc, roas, adjusted] {
                value.appendText(to: &text)
                text.append(0x09)
            }
            return text
        }
    }

    /// `2025-05-31` for `2025-06-01T00:00:00Z`.
    private static func previousDay(of asOf: String) throws -> String {
        let formatter = ISO8601DateFormatter()
        guard let date = formatter.date(from: asOf) else {
            throw Subprocess.Failure(
                description: "--audit-as-of \(asOf) is not an ISO 8601 instant (e.g. 2025-06-01T00:00:00Z)")
        }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        return day.string(from: date.addingTimeInterval(-86_400))
    }

    private static func timestamp(day: String, microseconds: Int64) -> String {
        let seconds = microseconds / 1_000_000
        let fraction = microseconds % 1_000_000
        let pad = { (value: Int64, width: Int) in
            String(repeating: "0", count: max(0, width - String(value).count)) + String(value)
        }
        return
            "\(day) \(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(fraction, 6))+00"
    }
}
