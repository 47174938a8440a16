import Foundation
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// Databases for tests: on the server of `TEST_DATABASE_URL` when set, otherwise in one
/// throwaway embedded cluster per process, stopped and deleted when the process exits.
public enum TestDatabase {
    /// A fresh, empty database named `name` (dropped first if it exists); returns its connection string.
    public static func fresh(_ name: String) throws -> String {
        if let url = ProcessInfo.processInfo.environment["TEST_DATABASE_URL"], !url.isEmpty {
            return try PostgresSession.recreateDatabase(name, onServerOf: url)
        }
        return try ThrowawayCluster.shared.get().createDatabase(name)
    }
}

/// Starts once, on first use; the cluster is stopped and deleted when the process ends.
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
            try? cluster.stopAndDeleteWhenProcessEnds()
            return cluster
        }
        cluster = outcome
        return try outcome.get()
    }
}
