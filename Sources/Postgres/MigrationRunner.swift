import Foundation

/// Applies `Migrations/*.sql` in order, each in its own transaction, recorded with a checksum in
/// `schema_migrations`, under an advisory lock so that replicas starting together take turns.
///
/// An applied file whose text changed stops everything: silently running a database whose
/// history differs from the files is worse than not starting.
public enum MigrationRunner {
    /// Session-level advisory lock key ("bidmigr" in ASCII), shared by every BidEngine process.
    static let lockKey: Int64 = 0x62_6964_6D69_6772

    public enum Failure: Error, CustomStringConvertible {
        case unreadableDirectory(String)
        case badFileName(String)
        case duplicateVersion(Int)
        case checksumMismatch(fileName: String, applied: String, current: String)
        case unknownAppliedVersion(Int, String)

        public var description: String {
            switch self {
            case .unreadableDirectory(let path):
                return "cannot read migrations directory \(path) (set BIDENGINE_MIGRATIONS_DIR)"
            case .badFileName(let name):
                return "migration file \(name) must be named NNNN_description.sql"
            case .duplicateVersion(let version):
                return "two migration files share version \(version)"
            case .checksumMismatch(let name, let applied, let current):
                return
                    "migration \(name) was changed after it was applied (checksum \(applied.prefix(12))… in the database, \(current.prefix(12))… on disk); restore the file and put the change in a new migration"
            case .unknownAppliedVersion(let version, let name):
                return
                    "the database has migration \(version) (\(name)) that is not on disk; this binary is older than the schema"
            }
        }
    }

    /// Reads `NNNN_name.sql` files, sorted by version.
    public static func load(directory: String) throws -> [Migration] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw Failure.unreadableDirectory(directory)
        }
        var migrations: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            guard let underscore = name.firstIndex(of: "_"), let version = Int(name[..<underscore]) else {
                throw Failure.badFileName(name)
            }
            guard let sql = try? String(contentsOfFile: directory + "/" + name, encoding: .utf8) else {
                throw Failure.unreadableDirectory(directory + "/" + name)
            }
            if migrations.contains(where: { $0.version == version }) { throw Failure.duplicateVersion(version) }
            migrations.append(Migration(version: version, fileName: name, sql: sql))
        }
        return migrations.sorted { $0.version < $1.version }
    }

    /// Applies what is missing; returns the file names applied now (empty when up to date).
    @discardableResult
    public static func migrate(_ migrations: [Migration], session: PostgresSession) throws -> [String] {
        try session.execute("SELECT pg_advisory_lock($1)", [String(lockKey)])
        defer { _ = try? session.execute("SELECT pg_advisory_unlock($1)", [String(lockKey)]) }
        try session.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                file_name  text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = try appliedChecksums(session: session)
        try verify(migrations, against: applied, session: session)
        var appliedNow: [String] = []
        for migration in migrations where applied[migration.version] == nil {
            try session.transaction { session in
                try session.executeScript(migration.sql)
                try session.execute(
                    "INSERT INTO schema_migrations (version, file_name, checksum) VALUES ($1, $2, \(checksumSQL(3)))",
                    [String(migration.version), migration.fileName, migration.sql])
            }
            appliedNow.append(migration.fileName)
        }
        return appliedNow
    }

    /// Migrations on disk not yet applied (nil table = nothing applied). Throws on a changed file.
    public static func pending(_ migrations: [Migration], session: PostgresSession) throws -> [Migration] {
        let exists = try session.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").scalar == "t"
        guard exists else { return migrations }
        let applied = try appliedChecksums(session: session)
        try verify(migrations, against: applied, session: session)
        return migrations.filter { applied[$0.version] == nil }
    }

    /// The SQL that a readiness check runs: the highest applied version.
    public static let currentVersionSQL = "SELECT coalesce(max(version), 0) FROM schema_migrations"

    private static func appliedChecksums(session: PostgresSession) throws -> [Int: (fileName: String, checksum: String)]
    {
        var applied: [Int: (String, String)] = [:]
        for row in try session.execute("SELECT version, file_name, checksum FROM schema_migrations").rows {
            if let version = row[0].flatMap({ Int($0) }) { applied[version] = (row[1] ?? "", row[2] ?? "") }
        }
        return applied
    }

    private static func verify(
        _ migrations: [Migration], against applied: [Int: (fileName: String, checksum: String)],
        session: PostgresSession
    ) throws {
        for (version, record) in applied where !migrations.contains(where: { $0.version == version }) {
            throw Failure.unknownAppliedVersion(version, record.fileName)
        }
        for migration in migrations {
            guard let record = applied[migration.version] else { continue }
            // The checksum is computed by PostgreSQL (sha256) so no hashing code ships here.
            let current = try session.execute("SELECT \(checksumSQL(1))", [migration.sql]).scalar ?? ""
            if current != record.checksum {
                throw Failure.checksumMismatch(fileName: migration.fileName, applied: record.checksum, current: current)
            }
        }
    }

    private static func checksumSQL(_ parameter: Int) -> String {
        "encode(sha256(convert_to($\(parameter)::text, 'UTF8')), 'hex')"
    }
}
