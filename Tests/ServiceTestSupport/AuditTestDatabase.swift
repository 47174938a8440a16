public import Audit
public import Foundation
public import Postgres
import PostgresTestSupport

/// A fresh PostgreSQL database with the bids and audit schema (migrations 0001, 0002 and 0010 only,
/// so these tests do not depend on other migrations), and helpers to seed bids.
public final class AuditTestDatabase {
    public let connectionString: String
    public let session: PostgresSession
    /// The migration that stores a run's flags per price pair.
    public static let flagPairsVersion = 10

    /// `partitioned`: every migration but the competitor poller's (0004) and the NaN checks of
    /// 0005 (which also cover its tables), so `bids` is the partitioned table of 0008.
    public init(_ name: String, partitioned: Bool = false) throws {
        connectionString = try TestDatabase.fresh(name)
        session = try PostgresSession(connectionString: connectionString)
        let migrations = try MigrationRunner.load(directory: ServiceHarness.migrationsDirectory).filter {
            partitioned ? $0.version != 4 && $0.version != 5 : $0.version <= 2 || $0.version == Self.flagPairsVersion
        }
        try MigrationRunner.migrate(migrations, session: session)
    }

    /// Inserts bids as `(product_id, current_cpc, adjusted_cpc, calculated_at)` text; returns their ids in order.
    @discardableResult
    public func insertBids(_ bids: [(String, String, String, String)]) throws -> [Int64] {
        try bids.map { bid in
            let id = try session.execute(
                "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at) VALUES ($1, $2, 100, $3, $4) RETURNING id",
                [bid.0, bid.1, bid.2, bid.3]
            ).scalar
            return Int64(id ?? "") ?? -1
        }
    }

    /// The competitor poller's table, with only the columns the audit reads.
    public func createCompetitorPrices(_ prices: [(product: String, price: String, observedAt: String)]) throws {
        try session.execute(
            "CREATE TABLE competitor_prices (product_id numeric, price numeric NOT NULL, observed_at timestamptz NOT NULL)"
        )
        for price in prices {
            try session.execute(
                "INSERT INTO competitor_prices VALUES ($1, $2, $3)", [price.product, price.price, price.observedAt])
        }
    }

    public func runner() -> AuditRunner {
        AuditRunner(connectionString: connectionString)
    }

    public func rows(_ sql: String, _ parameters: [String?] = []) throws -> [[String?]] {
        try session.execute(sql, parameters).rows
    }

    /// Every run's flags with `audit_flags`' columns, wherever each run keeps them: rows of
    /// `audit_flags`, or the bids of its window and flagged id range whose price pair is one of
    /// its `audit_flag_pairs`. Stated here apart from the reports' statements, as a cross-check.
    public static let flags = """
        (SELECT * FROM audit_flags
         UNION ALL
         SELECT r.id, b.id, b.product_id, b.current_cpc, b.adjusted_cpc, b.adjusted_cpc - b.current_cpc, p.deviation_pct
         FROM audit_runs r
         JOIN audit_flag_pairs p ON p.run_id = r.id
         JOIN bids b ON b.current_cpc = p.current_cpc AND b.adjusted_cpc = p.adjusted_cpc
          AND b.calculated_at >= r.as_of - r.window_seconds * interval '1 second' AND b.calculated_at < r.as_of
          AND b.id BETWEEN r.first_bid_id AND r.last_bid_id) flags
        """

    public func count(_ table: String) throws -> Int {
        Int(try session.execute("SELECT count(*) FROM \(table)").scalar ?? "") ?? -1
    }

    /// An RFC 3339 instant as a `Date` (tests only: traps on a typo).
    public static func date(_ text: String) -> Date {
        AuditParameters.parseTimestamp(text)!
    }

    /// The legacy audit's four bids around `as_of` 2026-06-15T02:00:00Z: 3 in the window, 2 flagged.
    public static let legacyBids = [
        ("1", "1.00", "1.10", "2026-06-14T10:00:00Z"),
        ("2", "2.00", "3.30", "2026-06-13T10:00:00Z"),
        ("3", "1.00", "2.00", "2026-06-07T01:59:59Z"),  // eight days old: outside the window
        ("4", "5.00", "7.00", "2026-06-10T10:00:00Z"),
    ]
    public static let legacyAsOf = date("2026-06-15T02:00:00Z")
}
