import PostgresTestSupport
import ServiceTestSupport
import Testing

/// A fresh database migrated by a real `bidengine migrate`, for the tests that run the commands.
enum MigratedDatabase {
    /// The new database's URL.
    static func fresh(_ name: String) throws -> String {
        let url = try TestDatabase.fresh(name)
        let migrate = try CommandProcess(
            ["migrate", "--migrations-dir", ServiceHarness.migrationsDirectory], environment: ["DATABASE_URL": url])
        #expect(migrate.waitForExit(within: .seconds(60)) == 0, "\(migrate.stderr)")
        return url
    }
}
