import Foundation
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// The PostgreSQL the benchmark writes to: a throwaway embedded cluster by default, or a fresh
/// `bidengine_bench` database on the server of `BENCH_DATABASE_URL`.
///
/// Either way the benchmark owns the database and truncates `bids` before each run, so the
/// row count after a run is exactly what that run stored.
final class BenchDatabase {
    let connectionString: String
    /// Where the embedded cluster lives (deleted by `stop`); nil for `BENCH_DATABASE_URL`.
    let cluster: EmbeddedPostgres?
    let description: String
    private var session: PostgresSession?

    static let environmentKey = "BENCH_DATABASE_URL"

    init(stateDirectory: String, port: Int) throws {
        if let url = ProcessInfo.processInfo.environment[Self.environmentKey], !url.isEmpty {
            connectionString = try PostgresSession.recreateDatabase("bidengine_bench", onServerOf: url)
            cluster = nil
            description = "\(Self.environmentKey) (database bidengine_bench, recreated)"
        } else {
            try? FileManager.default.removeItem(atPath: stateDirectory)
            let cluster = try EmbeddedPostgres(stateDirectory: stateDirectory, port: port)
            try cluster.start()
            self.cluster = cluster
            connectionString = cluster.connectionString
            description = "embedded cluster (unix socket, port \(port), default durability settings)"
        }
    }

    private func connected() throws -> PostgresSession {
        if let session { return session }
        let created = try PostgresSession(connectionString: connectionString)
        session = created
        return created
    }

    func execute(_ sql: String, _ parameters: [String?] = []) throws -> PostgresResult {
        try connected().execute(sql, parameters)
    }

    func scalar(_ sql: String) throws -> String? {
        try execute(sql).scalar
    }

    func truncateBids() throws {
        _ = try execute("TRUNCATE bids")
    }

    func bidCount() throws -> Int {
        Int(try scalar("SELECT count(*) FROM bids") ?? "") ?? -1
    }

    /// Batches as PostgreSQL saw them: every row of one batch statement has the same
    /// `calculated_at` (`now()` is the transaction's start), so grouping by it recovers the
    /// batches. Two batches starting in the same microsecond would merge; on two loops that is rare.
    func batchSizes() throws -> BatchSizes {
        let result = try execute(
            """
            SELECT size, count(*) FROM (SELECT count(*) AS size FROM bids GROUP BY calculated_at) AS batches
            GROUP BY size ORDER BY size
            """)
        var counts: [Int: Int] = [:]
        for row in result.rows {
            if let size = row[0].flatMap({ Int($0) }), let batches = row[1].flatMap({ Int($0) }) {
                counts[size] = batches
            }
        }
        return BatchSizes(source: "PostgreSQL (rows grouped by calculated_at)", countsBySize: counts)
    }

    /// Checkpoints the cluster has performed (timed and requested): a checkpoint's writes and
    /// fsyncs compete with commits, so runs report how many fell inside them.
    func checkpointCount() -> Int? {
        guard let row = try? execute("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter").rows.first
        else { return nil }
        return row[0].flatMap { Int($0) }
    }

    /// `server_version`, and the settings that decide what "durable" costs.
    func serverDescription() -> String {
        let version = (try? scalar("SHOW server_version")) ?? "unknown"
        let settings = ["synchronous_commit", "fsync", "wal_sync_method", "shared_buffers"].compactMap {
            name -> String? in
            guard let value = try? scalar("SHOW \(name)") else { return nil }
            return "\(name)=\(value)"
        }
        return "PostgreSQL \(version) (\(settings.joined(separator: ", ")))"
    }

    /// The postmaster's pid when the cluster runs on this host (for CPU accounting), found as
    /// the parent of our own backend.
    func postmasterPID() -> pid_t? {
        guard let backend = (try? scalar("SELECT pg_backend_pid()")).flatMap({ $0.flatMap { pid_t($0) } }),
            let parent = CPUAccounting.parent(of: backend),
            let name = try? String(contentsOfFile: "/proc/\(parent)/comm", encoding: .utf8),
            name.hasPrefix("postgres")
        else { return nil }
        return parent
    }

    /// Stops and deletes the embedded cluster; a `BENCH_DATABASE_URL` database is left as it is.
    func stop() {
        session?.close()
        session = nil
        guard let cluster else { return }
        cluster.stop()
        try? FileManager.default.removeItem(atPath: cluster.stateDirectory)
    }
}
