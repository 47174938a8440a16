import Foundation
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

/// Migration 0005: no money column takes `NaN` (which passes `CHECK (price >= 0)` in PostgreSQL),
/// and the NaN competitor prices already stored are removed when it runs.
@Suite(.serialized) struct MoneyConstraintPostgresTests {
    @Test func nanIsRefusedAndOldNaNPricesAreRemoved() throws {
        let url = try TestDatabase.fresh("money_nan")
        let session = try PostgresSession(connectionString: url)
        let all = try MigrationRunner.load(directory: ServiceHarness.migrationsDirectory)
        let before = all.filter { $0.version < 5 }
        _ = try MigrationRunner.migrate(before, session: session)
        let insertPrice = """
            INSERT INTO competitor_prices (source, external_id, title, price) VALUES ('s', $1, 't', $2::numeric)
            """
        _ = try session.execute(insertPrice, ["nan", "NaN"])
        _ = try session.execute(insertPrice, ["ok", "1.50"])
        _ = try session.execute(
            "INSERT INTO competitor_price_latest VALUES ('s', 'nan', 'NaN', now()), ('s', 'ok', 1.50, now())")

        #expect(try MigrationRunner.migrate(all, session: session).contains("0005_refuse_nan_money.sql"))
        #expect(try session.execute("SELECT external_id FROM competitor_prices").rows.map { $0[0] } == ["ok"])
        #expect(try session.execute("SELECT external_id FROM competitor_price_latest").rows.map { $0[0] } == ["ok"])

        for statement in [
            "INSERT INTO competitor_prices (source, external_id, title, price) VALUES ('s', 'x', 't', 'NaN')",
            "INSERT INTO competitor_price_latest VALUES ('s', 'x', 'NaN', now())",
            "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) VALUES (1, 'NaN', 150, 1)",
            "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) VALUES (1, 1, 'NaN', 1)",
            "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) VALUES (1, 1, 150, 'NaN')",
        ] {
            #expect(throws: PostgresError.self, "\(statement)") { try session.execute(statement) }
        }
        _ = try session.execute(
            "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) VALUES (1, 1.5, 150, 2.25)")
    }
}
