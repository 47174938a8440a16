import Foundation
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

/// Migrations 0006-0008 against real PostgreSQL: an install at the previous schema version, with
/// bids in it, becomes a partitioned `bids` without losing a row or reusing an id.
@Suite struct PartitionMigrationPostgresTests {
    static let firstPartitioningVersion = 6

    static func migrations(before version: Int? = nil) throws -> [Migration] {
        try MigrationRunner.load(directory: ServiceHarness.migrationsDirectory).filter { migration in
            version.map { migration.version < $0 } ?? true
        }
    }

    static func partitions(_ session: PostgresSession) throws -> [String] {
        try session.execute(
            """
            SELECT c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i
            JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'bids'::regclass ORDER BY c.relname
            """
        ).rows.compactMap { $0[0] }
    }

    @Test func anUpgradedInstallKeepsEveryBidAndItsId() throws {
        let url = try TestDatabase.fresh("partition_upgrade")
        let session = try PostgresSession(connectionString: url)
        try MigrationRunner.migrate(try Self.migrations(before: Self.firstPartitioningVersion), session: session)
        // Bids across years, one 40 days ahead (clock skew): the old table's bound must lie beyond it.
        try session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT g % 7, (g || '.25')::numeric, 100, (g || '.30')::numeric, now() - g * interval '9 days' FROM generate_series(1, 300) g
            """)
        try session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            VALUES (12.5, 1.50, 250, 1.88, now() + interval '40 days')
            """)
        try session.execute("INSERT INTO idempotency_keys (key, request, bid_id) VALUES ('k1', 'r', 17)")
        let snapshot =
            "SELECT id, product_id, current_cpc, target_roas, adjusted_cpc, calculated_at FROM bids ORDER BY id"
        let before = try session.execute(snapshot).rows
        #expect(before.count == 301)

        let applied = try MigrationRunner.migrate(try Self.migrations(), session: session)
        #expect(applied.first?.hasPrefix("0006_") == true)
        #expect(try session.execute("SELECT relkind FROM pg_class WHERE relname = 'bids'").scalar == "p")
        #expect(try session.execute(snapshot).rows == before)
        #expect(try session.execute("SELECT count(*) FROM bids_legacy").scalar == "301")
        // The old table's bound: the first UTC month start after the newest bid (40 days ahead).
        let expectedBound = try session.execute(
            """
            SELECT to_char(date_trunc('month', max(calculated_at) AT TIME ZONE 'UTC') + interval '1 month',
                           'YYYY-MM-DD HH24:MI:SS') || '+00'
            FROM bids
            """
        ).scalar
        try session.execute("SET TimeZone = 'UTC'")
        let partitions = try Self.partitions(session)
        #expect(partitions.contains("bids_legacy FOR VALUES FROM (MINVALUE) TO ('\(expectedBound ?? "")')"))
        #expect(partitions.contains("bids_default DEFAULT"))
        #expect(partitions.count == 5)

        // New bids get ids after the old ones, through the sequence the bid writer uses.
        let maxOld = try session.execute("SELECT max(id) FROM bids_legacy").scalar.flatMap { Int64($0) } ?? 0
        let next = try session.execute(
            "SELECT nextval(pg_get_serial_sequence('bids', 'id'))"
        ).scalar.flatMap { Int64($0) }
        #expect(next == maxOld + 1)
        let defaulted = try session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc)
            VALUES (1, 1, 100, 1) RETURNING id
            """
        ).scalar.flatMap { Int64($0) }
        #expect(defaulted == maxOld + 2)
        // A bid no partition covers still lands, in bids_default.
        let far = try session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            VALUES (1, 1, 100, 1, '2090-06-01T00:00:00Z') RETURNING tableoid::regclass::text
            """
        ).scalar
        #expect(far == "bids_default")
        // The idempotency replay's join still finds the bid by id.
        #expect(
            try session.execute("SELECT b.adjusted_cpc::text FROM idempotency_keys k JOIN bids b ON b.id = k.bid_id")
                .scalar == before[16][4])
        // The old CHECK constraints hold on the partitioned table and every partition.
        #expect(throws: PostgresError.self) {
            try session.execute(
                "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) VALUES (1, -1, 100, 1)")
        }
    }

    @Test func aFreshInstallIsPartitioned() throws {
        let url = try TestDatabase.fresh("partition_fresh")
        let session = try PostgresSession(connectionString: url)
        try MigrationRunner.migrate(try Self.migrations(), session: session)
        try session.execute("SET TimeZone = 'UTC'")
        let names = try Self.partitions(session).map { $0.prefix { $0 != " " } }
        #expect(names.count == 5)
        #expect(names.first == "bids_default")
        #expect(names.contains("bids_legacy"))
        #expect(names.filter { $0.hasPrefix("bids_p") }.count == 3)
        #expect(try session.execute("SELECT count(*) FROM bids").scalar == "0")
        // Ids start at 1, as they did before partitioning.
        #expect(
            try session.execute(
                "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) VALUES (1, 1, 100, 1) RETURNING id"
            ).scalar == "1")
    }
}
