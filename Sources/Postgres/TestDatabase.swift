import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Databases for tests and benchmarks: on the server of `TEST_DATABASE_URL` when set, otherwise
/// in one throwaway embedded cluster per process, stopped and deleted when the process exits.
public enum TestDatabase {
    /// A fresh, empty database named `name` (dropped first if it exists); returns its connection string.
    public static func fresh(_ name: String, environmentKey: String = "TEST_DATABASE_URL") throws -> String {
        if let url = ProcessInfo.processInfo.environment[environmentKey], !url.isEmpty {
            let session = try PostgresSession(connectionString: url)
            try session.execute("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
            try session.execute("CREATE DATABASE \"\(name)\"")
            return try ConnectionString.replacingDatabase(in: url, with: name)
        }
        return try ThrowawayCluster.shared.get().createDatabase(name)
    }

    /// The throwaway cluster, when one is in use (tests that stop and restart the server need it).
    public static var throwawayCluster: EmbeddedPostgres? {
        guard ProcessInfo.processInfo.environment["TEST_DATABASE_URL"]?.isEmpty ?? true else { return nil }
        return try? ThrowawayCluster.shared.get()
    }
}

/// Starts once, on first use; registered with `atexit` so the server never outlives the tests.
private final class ThrowawayCluster: @unchecked Sendable {
    static let shared = ThrowawayCluster()
    private let lock = NSLock()
    private var cluster: Result<EmbeddedPostgres, any Error>?

    func get() throws -> EmbeddedPostgres {
        lock.lock()
        defer { lock.unlock() }
        if let cluster { return try cluster.get() }
        let outcome = Result { () throws -> EmbeddedPostgres in
            let directory = FileManager.default.temporaryDirectory.path + "/bidengine-test-\(getpid())"
            try? FileManager.default.removeItem(atPath: directory)
            let cluster = try EmbeddedPostgres(stateDirectory: directory, port: 5432)
            try cluster.start()
            ThrowawayClusterExit.register(cluster)
            return cluster
        }
        cluster = outcome
        return try outcome.get()
    }
}

/// Test runners do not reliably run `atexit` handlers, so a watchdog shell waits for this
/// process to end — however it ends — and then stops the cluster and deletes its files.
private enum ThrowawayClusterExit {
    static func register(_ cluster: EmbeddedPostgres) {
        let stop = cluster.stopCommand(mode: "immediate").map { "'\($0)'" }.joined(separator: " ")
        try? ChildProcess.spawnDetached(
            script: """
                while kill -0 \(getpid()) 2>/dev/null; do sleep 0.5; done
                \(stop) >/dev/null 2>&1
                rm -rf '\(cluster.stateDirectory)'
                """)
    }
}
