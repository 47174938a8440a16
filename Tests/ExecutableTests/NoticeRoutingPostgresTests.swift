import Foundation
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

/// libpq notices go to the JSON log at debug level, never raw on stderr.
@Suite(.serialized) struct NoticeRoutingPostgresTests {
    @Test func aRepeatedMigrateLogsItsNoticeOnlyAtDebug() throws {
        let url = try TestDatabase.fresh("notice_routing")
        func migrate(_ level: String) throws -> BidengineProcess.Outcome {
            try BidengineProcess.run(
                BidengineProcess.binary, ["migrate"],
                environment: [
                    "DATABASE_URL": url, "LOG_LEVEL": level,
                    "BIDENGINE_MIGRATIONS_DIR": ServiceHarness.migrationsDirectory,
                ])
        }
        _ = try migrate("info")
        // `CREATE TABLE IF NOT EXISTS schema_migrations` now raises a NOTICE.
        let quiet = try migrate("info")
        #expect(quiet.status == 0)
        #expect(quiet.stdout == "migrations: up to date\n")
        #expect(quiet.stderr == "")
        let verbose = try migrate("debug")
        let notices = verbose.stderr.split(separator: "\n").filter { $0.contains(#""msg":"postgres notice""#) }
        #expect(notices.count == 1)
        #expect(notices.first?.contains(#""level":"debug""#) == true)
        #expect(notices.first?.contains(#"schema_migrations\" already exists, skipping"#) == true)
        #expect(!verbose.stderr.split(separator: "\n").contains { $0.hasPrefix("NOTICE") })
    }
}
