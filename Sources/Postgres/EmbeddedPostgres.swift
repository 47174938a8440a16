import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A private PostgreSQL cluster run with the system's `initdb` and `pg_ctl`: unix socket only
/// (no TCP listener), trust authentication on that socket, data kept between runs.
///
/// It is the default database of `bidengine serve` and the throwaway database of the tests.
/// `initdb` refuses to run as root, so as root the cluster runs as the `postgres` user (present
/// wherever Debian's `postgresql` package is installed).
public final class EmbeddedPostgres: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Where the cluster lives: `data/`, `postgres.log`, and the socket directory.
    public let stateDirectory: String
    public let port: Int
    public let database: String
    private let binDirectory: String
    private let runAsUser: String?
    private var socketDirectory: String
    /// Whether this process is one of the cluster's registered users (see `ClusterUsers`).
    private var joined = false
    /// Seconds the launcher waits for the cluster to answer a connection (libpq `connect_timeout`).
    public var connectTimeoutSeconds = 5

    public var dataDirectory: String { stateDirectory + "/data" }
    public var logFile: String { stateDirectory + "/postgres.log" }

    /// libpq key/value connection string for `database` over the unix socket.
    public var connectionString: String {
        "host=\(socketDirectory) port=\(port) user=postgres dbname=\(database) connect_timeout=\(connectTimeoutSeconds)"
    }

    public init(stateDirectory: String, port: Int = 5432, database: String = "bidengine") throws {
        self.stateDirectory = Self.absolute(stateDirectory)
        self.port = port
        self.database = database
        self.binDirectory = try Self.findBinDirectory()
        self.runAsUser = getuid() == 0 ? "postgres" : nil
        // Unix socket paths are limited to 107 bytes; fall back to /tmp for deep checkouts.
        let preferred = self.stateDirectory + "/run"
        socketDirectory =
            preferred.utf8.count < 90
            ? preferred
            : "/tmp/bidengine-pg-\(UInt32(truncatingIfNeeded: self.stateDirectory.hashValue))"
    }

    /// Creates the cluster if needed, starts it unless it already runs, creates `database`, and
    /// registers this process as one of its users: `stop()` stops the cluster only when the last
    /// registered user leaves, so `serve` and `schedule` can share one state directory.
    public func start() throws {
        try prepareDirectories()
        let users = ClusterUsers(stateDirectory: stateDirectory)
        try Self.membership.join(self) {
            try users.locked {
                // A running cluster without the `owned` marker was started outside bidengine: used, never stopped.
                if try !isRunning() {
                    // Marked before starting: a process killed while pg_ctl waits must not leave an unowned cluster.
                    users.owned = true
                    do {
                        try initialiseAndStart()
                    } catch {
                        users.owned = false
                        throw error
                    }
                }
                try users.join()
                joined = true
            }
        }
        let session = try PostgresSession(
            connectionString:
                "host=\(socketDirectory) port=\(port) user=postgres dbname=postgres connect_timeout=\(connectTimeoutSeconds)"
        )
        let exists =
            try session.execute("SELECT 1 FROM pg_database WHERE datname = $1", [database]).rows.isEmpty == false
        if !exists { try session.execute("CREATE DATABASE \"\(database)\"") }
    }

    /// The processes registered as users of this cluster and still alive.
    public func users() throws -> [Int32] {
        let users = ClusterUsers(stateDirectory: stateDirectory)
        return try users.locked { users.live() }
    }

    private func initialiseAndStart() throws {
        if !FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            try run(
                binDirectory + "/initdb",
                [
                    "-D", dataDirectory, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale",
                    "--no-instructions",
                ])
        }
        try startServer()
    }

    /// The server settings of every start, first or after `forceStop`: a cluster restarted by a
    /// test or an operator runs as the one `start()` made. `wal_compression=lz4`: a quarter less
    /// WAL per bid and a shorter tail across checkpoints (decision 0022).
    public static let serverSettings = ["max_connections=200", "shared_buffers=256MB", "wal_compression=lz4"]

    private func startServer() throws {
        let settings = Self.serverSettings.map { "-c \($0)" }.joined(separator: " ")
        try run(
            binDirectory + "/pg_ctl",
            [
                "-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o",
                "-c listen_addresses='' -k \(socketDirectory) -p \(port) \(settings)", "start",
            ])
    }

    /// Creates another database in this cluster (tests use one per suite) and returns its connection string.
    public func createDatabase(_ name: String) throws -> String {
        let session = try PostgresSession(connectionString: connectionString)
        try session.execute("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
        try session.execute("CREATE DATABASE \"\(name)\"")
        return "host=\(socketDirectory) port=\(port) user=postgres dbname=\(name)"
    }

    /// Leaves the cluster; the last bidengine user to leave stops it (fast mode: sessions are
    /// disconnected, nothing committed is lost). A cluster started outside bidengine is left running.
    public func stop() {
        Self.membership.leave(self)
    }

    /// Leaves every cluster this process has joined, and refuses later joins: for a process about
    /// to end without unwinding (a signal during start-up, `exit`). Waits for a `start()` under way
    /// in another thread to finish first, so that its registration is removed too.
    public static func leaveAll() {
        membership.close()
    }

    /// Called by `ProcessMembership` with its lock held.
    func leaveHoldingMembership() {
        guard joined else { return }
        joined = false
        let users = ClusterUsers(stateDirectory: stateDirectory)
        try? users.locked {
            users.leave()
            guard users.live().isEmpty, users.owned else { return }
            _ = try? run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "stop"])
            users.owned = false
        }
    }

    /// Stops regardless of who started it (tests that simulate an outage).
    public func forceStop(mode: String = "fast") throws {
        try run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", mode, "-w", "stop"])
    }

    /// Starts again after `forceStop`.
    public func restart() throws {
        try startServer()
    }

    /// The command line that stops this cluster (as the cluster user when root), for watchdogs.
    func stopCommand(mode: String) -> [String] {
        let stop = [binDirectory + "/pg_ctl", "-D", dataDirectory, "-m", mode, "-w", "stop"]
        return runAsUser.map { ["/usr/sbin/runuser", "-u", $0, "--"] + stop } ?? stop
    }

    public func isRunning() throws -> Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") else { return false }
        return (try? run(binDirectory + "/pg_ctl", ["-D", dataDirectory, "status"])) != nil
    }

    // MARK: Setup

    private func prepareDirectories() throws {
        for directory in [stateDirectory, socketDirectory] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        chmod(socketDirectory, 0o700)
        guard let user = runAsUser else { return }
        guard let account = getpwnam(user) else {
            throw Failure(
                description:
                    "running as root, but there is no '\(user)' user to run PostgreSQL as (install the postgresql package)"
            )
        }
        for path in [stateDirectory, socketDirectory, dataDirectory, logFile]
        where FileManager.default.fileExists(atPath: path) {
            chown(path, account.pointee.pw_uid, account.pointee.pw_gid)
        }
        // initdb creates data/ itself, but needs to own the directory it creates it in.
        guard access(stateDirectory, F_OK) == 0, (try? run("/usr/bin/test", ["-w", stateDirectory])) != nil else {
            throw Failure(
                description:
                    "the '\(user)' user cannot write to \(stateDirectory); choose a state directory it can reach (for example under /var/tmp)"
            )
        }
    }

    private static func findBinDirectory() throws -> String {
        var candidates: [String] = []
        if let output = try? capture("/usr/bin/env", ["pg_config", "--bindir"]) {
            candidates.append(output.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append("/usr/lib/postgresql/\(version)/bin")
        }
        for directory in candidates where FileManager.default.isExecutableFile(atPath: directory + "/initdb") {
            return directory
        }
        throw Failure(
            description:
                "PostgreSQL server binaries (initdb, pg_ctl) not found; install the postgresql package or set DATABASE_URL"
        )
    }

    private static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }

    // MARK: Processes

    /// Runs a tool (as the cluster user when root) and throws with its output when it fails.
    @discardableResult
    private func run(_ executable: String, _ arguments: [String]) throws -> String {
        if let user = runAsUser {
            return try Self.capture("/usr/sbin/runuser", ["-u", user, "--", executable] + arguments)
        }
        return try Self.capture(executable, arguments)
    }

    static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        try ChildProcess.run(executable, arguments)
    }
}
