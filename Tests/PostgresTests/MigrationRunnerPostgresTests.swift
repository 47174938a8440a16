import Foundation
import PostgresTestSupport
import Testing

@testable import Postgres

/// Needs PostgreSQL: TEST_DATABASE_URL, or the project's throwaway cluster.
@Suite(.serialized) struct MigrationRunnerPostgresTests {
    private let migrations = [
        Migration(
            version: 1, fileName: "0001_things.sql",
            sql: "CREATE TABLE things (id int PRIMARY KEY, price numeric NOT NULL);"),
        Migration(
            version: 2, fileName: "0002_more.sql",
            sql: "ALTER TABLE things ADD COLUMN note text; CREATE INDEX things_note ON things (note);"),
    ]

    @Test func appliesOnceAndRecordsChecksums() throws {
        let url = try TestDatabase.fresh("migrations_once")
        let session = try PostgresSession(connectionString: url)
        #expect(try MigrationRunner.migrate(migrations, session: session) == ["0001_things.sql", "0002_more.sql"])
        #expect(try MigrationRunner.migrate(migrations, session: session) == [])
        #expect(try MigrationRunner.pending(migrations, session: session).isEmpty)
        let recorded = try session.execute("SELECT version, length(checksum) FROM schema_migrations ORDER BY version")
            .rows
        #expect(recorded == [["1", "64"], ["2", "64"]])
    }

    @Test func aChangedFileStopsStartup() throws {
        let url = try TestDatabase.fresh("migrations_changed")
        let session = try PostgresSession(connectionString: url)
        try MigrationRunner.migrate(migrations, session: session)
        var edited = migrations
        edited[0] = Migration(
            version: 1, fileName: "0001_things.sql", sql: "CREATE TABLE things (id bigint PRIMARY KEY);")
        #expect {
            try MigrationRunner.migrate(edited, session: session)
        } throws: { error in
            "\(error)".contains("0001_things.sql was changed after it was applied")
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() throws {
        let url = try TestDatabase.fresh("migrations_failing")
        let session = try PostgresSession(connectionString: url)
        let broken =
            migrations + [
                Migration(
                    version: 3, fileName: "0003_broken.sql",
                    sql: "CREATE TABLE half (id int); SELECT no_such_function();")
            ]
        #expect(throws: PostgresError.self) { try MigrationRunner.migrate(broken, session: session) }
        #expect(try session.execute("SELECT to_regclass('half') IS NULL").scalar == "t")
        #expect(try session.execute("SELECT max(version) FROM schema_migrations").scalar == "2")
    }

    @Test func concurrentMigratorsTakeTurns() async throws {
        let url = try TestDatabase.fresh("migrations_race")
        let migrations = self.migrations
        // Two processes' worth of migrators at once: the advisory lock makes exactly one apply each file.
        let applied = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let session = try PostgresSession(connectionString: url)
                    return try MigrationRunner.migrate(migrations, session: session)
                }
            }
            var all: [String] = []
            for try await names in group { all += names }
            return all
        }
        #expect(applied.sorted() == ["0001_things.sql", "0002_more.sql"])
    }

    @Test func loadsTheRepositoryMigrationsInOrder() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../Migrations"
        ).standardized.path
        let loaded = try MigrationRunner.load(directory: directory)
        #expect(loaded.first?.fileName == "0001_create_bids.sql")
        #expect(loaded.map(\.version) == loaded.map(\.version).sorted())
    }

    @Test func connectionStringsKeepTheirOptionsWithAnotherDatabase() throws {
        let rewritten = try ConnectionString.replacingDatabase(
            // pragma: allowlist nextline secret (an example URL; the test checks it is rewritten)
            in: "postgresql://u:secret@db.example:6543/app?sslmode=require", with: "other")
        #expect(
            rewritten.contains("host='db.example'") && rewritten.contains("port='6543'")
                && rewritten.contains("sslmode='require'"))
        #expect(rewritten.hasSuffix("dbname='other'"))
        // pragma: allowlist nextline secret (the same example URL, to be masked)
        #expect(ConnectionString.masked("postgresql://u:secret@db.example/app").contains("password=****"))
        // pragma: allowlist nextline secret (the same example URL, to be masked)
        #expect(!ConnectionString.masked("postgresql://u:secret@db.example/app").contains("secret"))
    }

    @Test func sessionDefaultsKeepTheOperatorsChoices() throws {
        let settings = [(name: "enable_incremental_sort", value: "off")]
        let plain = try ConnectionString.addingSessionDefaults(
            to: "postgresql://u@db.example/app", applicationName: "bidengine", settings: settings)
        #expect(
            plain == "user='u' dbname='app' host='db.example' application_name='bidengine' "
                + "options='-c enable_incremental_sort=off'")
        let chosen = try ConnectionString.addingSessionDefaults(
            to: "host=db.example application_name=replica-reader options='-c work_mem=8MB'",
            applicationName: "bidengine", settings: settings)
        #expect(
            chosen == "host='db.example' application_name='replica-reader' "
                + "options='-c work_mem=8MB -c enable_incremental_sort=off'")
        let spaced = try ConnectionString.addingSessionDefaults(
            to: "host=h", applicationName: "a", settings: [(name: "search_path", value: "a b")])
        #expect(spaced == #"host='h' application_name='a' options='-c search_path=a\\ b'"#)
    }

    @Test func sessionDefaultsReachTheServer() throws {
        let url = try TestDatabase.fresh("session_defaults")
        let session = try PostgresSession(
            connectionString: ConnectionString.addingSessionDefaults(
                to: url, applicationName: "bidengine-test",
                settings: [(name: "enable_incremental_sort", value: "off"), (name: "DateStyle", value: "ISO, YMD")]))
        let row = try session.execute(
            "SELECT current_setting('enable_incremental_sort'), current_setting('application_name'), "
                + "current_setting('DateStyle')"
        ).rows
        #expect(row == [["off", "bidengine-test", "ISO, YMD"]])
    }
}
