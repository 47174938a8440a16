import Foundation
import Logging
public import Postgres

/// Finds the database and the migrations every subcommand uses: `DATABASE_URL` when given,
/// otherwise the embedded cluster under the state directory; migrations from
/// `BIDENGINE_MIGRATIONS_DIR`, `./Migrations`, or next to the executable.
public enum DatabaseLocator {
    /// A connection string, and the embedded cluster when this process started one (stop it on exit).
    public struct Resolved {
        public let connectionString: String
        public let embedded: EmbeddedPostgres?
        /// What is between `connectionString` and PostgreSQL.
        public var pooler: ConnectionPooler = .none
        /// A connection that keeps its session (`DATABASE_DIRECT_URL` behind a transaction pooler).
        public var directConnectionString: String?

        public init(connectionString: String, embedded: EmbeddedPostgres?) {
            self.connectionString = connectionString
            self.embedded = embedded
        }

        /// A connection string for work that needs a session of its own (migrations' and the
        /// scheduler's advisory locks): `connectionString` when it keeps sessions, else
        /// `DATABASE_DIRECT_URL`; without one, an error that says so.
        public func sessionConnectionString(for work: String) throws(SessionRequired) -> String {
            if let directConnectionString { return directConnectionString }
            guard pooler.keepsSessions else { throw SessionRequired(work: work) }
            return connectionString
        }
    }

    /// Work that needs a session was asked of a connection through a transaction pooler.
    public struct SessionRequired: Error, CustomStringConvertible {
        public let work: String

        public init(work: String) {
            self.work = work
        }

        public var description: String {
            "\(work) needs a PostgreSQL session, which a transaction pooler (DATABASE_POOLER=transaction) does not keep: "
                + "set DATABASE_DIRECT_URL to a connection that bypasses the pooler"
        }
    }

    /// `resolve`, then the pooler and the direct connection (given the same `connect_timeout`):
    /// what every command opens.
    public static func resolve(
        databaseURL: String?, stateDirectory: String, connectTimeoutSeconds: Int = 5, pooler: ConnectionPooler,
        directURL: String?
    ) throws -> Resolved {
        var resolved = try resolve(
            databaseURL: databaseURL, stateDirectory: stateDirectory, connectTimeoutSeconds: connectTimeoutSeconds)
        // The embedded cluster is never behind a pooler.
        guard resolved.embedded == nil else { return resolved }
        resolved.pooler = pooler
        if let directURL, !directURL.isEmpty {
            resolved.directConnectionString = try ConnectionString.addingConnectTimeout(
                to: directURL, seconds: connectTimeoutSeconds)
        }
        return resolved
    }

    /// Every connection string it returns carries a `connect_timeout` (`connectTimeoutSeconds`,
    /// `CONNECT_TIMEOUT`), unless `DATABASE_URL` sets its own: a server that accepts TCP and never
    /// answers must produce an error, not a hang.
    public static func resolve(databaseURL: String?, stateDirectory: String, connectTimeoutSeconds: Int = 5) throws
        -> Resolved
    {
        if let url = databaseURL, !url.isEmpty {
            return Resolved(
                connectionString: try ConnectionString.addingConnectTimeout(to: url, seconds: connectTimeoutSeconds),
                embedded: nil)
        }
        let cluster = try embeddedCluster(stateDirectory: stateDirectory, connectTimeoutSeconds: connectTimeoutSeconds)
        let existed = FileManager.default.fileExists(atPath: cluster.dataDirectory + "/PG_VERSION")
        try cluster.start()
        // Said at notice level with the absolute path: run from another directory, the default
        // relative state directory is a different (new, empty) database.
        Logger(label: "bidengine.database").notice(
            existed ? "using the embedded PostgreSQL cluster" : "created a new embedded PostgreSQL cluster",
            metadata: [
                "state_dir": "\(URL(fileURLWithPath: cluster.stateDirectory).standardized.path)",
                "log": "\(URL(fileURLWithPath: cluster.logFile).standardized.path)",
                "hint": "no DATABASE_URL; set it, or --state-dir / BIDENGINE_STATE_DIR, to use another database",
            ])
        return Resolved(connectionString: cluster.connectionString, embedded: cluster)
    }

    /// The connection string `resolve` will return, without starting or reaching anything: what
    /// `serve` gives its loops before the database is up.
    public static func connectionString(databaseURL: String?, stateDirectory: String, connectTimeoutSeconds: Int = 5)
        throws -> String
    {
        if let url = databaseURL, !url.isEmpty {
            return try ConnectionString.addingConnectTimeout(to: url, seconds: connectTimeoutSeconds)
        }
        return try embeddedCluster(stateDirectory: stateDirectory, connectTimeoutSeconds: connectTimeoutSeconds)
            .connectionString
    }

    private static func embeddedCluster(stateDirectory: String, connectTimeoutSeconds: Int) throws -> EmbeddedPostgres {
        let cluster = try EmbeddedPostgres(stateDirectory: stateDirectory + "/postgres")
        cluster.connectTimeoutSeconds = connectTimeoutSeconds
        return cluster
    }

    /// The connection string `setting` holds in `reader`'s environment (nil when unset or empty),
    /// checked as `checkedURL` checks it.
    public static func checkedURL(_ setting: Setting<String>, from reader: SettingReader) throws -> String? {
        try checkedURL(reader.optional(setting), name: setting.name)
    }

    /// `DATABASE_URL` checked by libpq's own parser (nil when unset or empty), so a malformed one
    /// is refused with the other settings, before anything starts.
    public static func checkedURL(_ text: String?, name: String = "DATABASE_URL") throws -> String? {
        guard let text, !text.isEmpty else { return nil }
        let accepts = "a libpq connection URI (postgresql://user@host:5432/db) or key=value string"
        let options: [(key: String, value: String)]
        do {
            options = try ConnectionString.parse(text)
        } catch {
            throw SettingError(
                setting: name, value: maskedUnparseable(text),
                accepts: accepts + why(unparseable: text, libpqSays: maskedUnparseable(libpqReason(error.message))))
        }
        // libpq's parser takes any text for these and refuses it only when connecting, which the
        // start-up retry cannot tell from an unreachable server: it would retry a typo forever.
        for option in options where !isAcceptable(option) {
            throw SettingError(
                setting: name, value: ConnectionString.masked(text),
                accepts: accepts + " with a valid \(option.key) (got '\(option.value)')")
        }
        return text
    }

    /// A string libpq cannot parse, with its passwords masked the simple way (user-info after the
    /// first `:`, any `password=` value): the operator sees what was actually given.
    private static func maskedUnparseable(_ text: String) -> String {
        let redacted = ConnectionString.redacting(text, connectionString: text)
        // Without "://" (a mistyped scheme) a `user:password@host` is not recognised as a URI.
        return redacted.replacingOccurrences(of: #":[^:@\s/]+@"#, with: ":****@", options: .regularExpression)
    }

    /// What is wrong, in the words an operator needs: a URI's scheme other than libpq's two, or a
    /// key=value string (no scheme) that libpq could not read.
    /// libpq's own words, without the prefix the parser adds (which names `DATABASE_URL` whatever was checked).
    private static func libpqReason(_ message: String) -> String {
        let prefix = "invalid DATABASE_URL: "
        return message.hasPrefix(prefix) ? String(message.dropFirst(prefix.count)) : message
    }

    private static func why(unparseable text: String, libpqSays reason: String) -> String {
        if let separator = text.range(of: "://") {
            let scheme = text[..<separator.lowerBound]
            if scheme != "postgresql", scheme != "postgres" {
                return " (the URI scheme must be postgresql:// or postgres://, not \(scheme)://)"
            }
            return " (\(reason))"
        }
        return " (no postgresql:// scheme, and not key=value pairs: \(reason))"
    }

    private static let sslModes: Set = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]

    private static func isAcceptable(_ option: (key: String, value: String)) -> Bool {
        switch option.key {
        case "port":
            // One port per host, comma-separated; an empty entry means the default.
            return option.value.split(separator: ",", omittingEmptySubsequences: false).allSatisfy {
                $0.isEmpty || (Int($0).map { (1...65_535).contains($0) } ?? false)
            }
        case "sslmode":
            return sslModes.contains(option.value)
        case "connect_timeout":
            return Int(option.value) != nil
        default:
            return true
        }
    }

    public static func migrationsDirectory(explicit: String?) throws -> String {
        var candidates: [String] = []
        if let explicit { candidates.append(explicit) }
        let settings = SettingReader(environment: ProcessInfo.processInfo.environment)
        if let fromEnvironment = try? settings.optional(Settings.migrationsDirectory) {
            candidates.append(fromEnvironment)
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/Migrations")
        // .build/<config>/bidengine → the checkout's Migrations; /usr/local/bin → /usr/share/bidengine.
        // The running binary itself (/proc/self/exe), not argv[0]: found through the PATH, argv[0]
        // is a bare name that would resolve against the working directory.
        let binary =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let executable = URL(fileURLWithPath: binary).resolvingSymlinksInPath().deletingLastPathComponent()
        candidates.append(executable.appendingPathComponent("../../Migrations").standardized.path)
        candidates.append(executable.appendingPathComponent("../../../Migrations").standardized.path)
        // make install: PREFIX/bin/bidengine → PREFIX/share/bidengine/Migrations.
        candidates.append(executable.appendingPathComponent("../share/bidengine/Migrations").standardized.path)
        candidates.append("/usr/share/bidengine/Migrations")
        for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/0001_create_bids.sql") {
            return candidate
        }
        throw MigrationRunner.Failure.unreadableDirectory(candidates.first ?? "Migrations")
    }

    /// Applies pending migrations to `database` (under the advisory lock, so on a connection that
    /// keeps its session); returns the files applied now.
    @discardableResult
    public static func migrate(_ database: Resolved, migrationsDirectory: String) throws -> [String] {
        try migrate(
            connectionString: database.sessionConnectionString(for: "Migrating"),
            migrationsDirectory: migrationsDirectory)
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
