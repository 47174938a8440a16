import Foundation
public import Postgres

/// Finds the database and the migrations every subcommand uses: `DATABASE_URL` when given,
/// otherwise the embedded cluster under the state directory; migrations from
/// `BIDENGINE_MIGRATIONS_DIR`, `./Migrations`, or next to the executable.
public enum DatabaseLocator {
    /// A connection string, and the embedded cluster when this process started one (stop it on exit).
    public struct Resolved {
        public let connectionString: String
        public let embedded: EmbeddedPostgres?
    }

    public static func resolve(databaseURL: String?, stateDirectory: String) throws -> Resolved {
        if let url = databaseURL, !url.isEmpty {
            return Resolved(connectionString: url, embedded: nil)
        }
        let cluster = try EmbeddedPostgres(stateDirectory: stateDirectory + "/postgres")
        try cluster.start()
        return Resolved(connectionString: cluster.connectionString, embedded: cluster)
    }

    public static func migrationsDirectory(explicit: String?) throws -> String {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        if let fromEnvironment = ProcessInfo.processInfo.environment["BIDENGINE_MIGRATIONS_DIR"] {
            candidates.append(fromEnvironment)
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/Migrations")
        // .build/<config>/bidengine → the checkout's Migrations; /usr/local/bin → /usr/share/bidengine.
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent()
        candidates.append(executable.appendingPathComponent("../../Migrations").standardized.path)
        candidates.append(executable.appendingPathComponent("../../../Migrations").standardized.path)
        candidates.append("/usr/share/bidengine/Migrations")
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/0001_create_bids.sql") {
            return candidate
        }
        throw MigrationRunner.Failure.unreadableDirectory(candidates.first ?? "Migrations")
    }

    /// Applies pending migrations (under the advisory lock); returns the files applied now.
    @discardableResult
    public static func migrate(connectionString: String, migrationsDirectory: String) throws -> [String] {
        let migrations = try MigrationRunner.load(directory: migrationsDirectory)
        let session = try PostgresSession(connectionString: connectionString)
        defer { session.close() }
        return try MigrationRunner.migrate(migrations, session: session)
    }
}
