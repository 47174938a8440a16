import Foundation
public import Postgres

/// A private PostgreSQL cluster for a test that stops and restarts it (outages), apart from the
/// shared throwaway cluster. `defer { scratch.remove() }` stops and deletes it.
public final class ScratchCluster {
    public let cluster: EmbeddedPostgres
    private let directory: String

    /// `name` makes the directory unique per test; `port` names the unix socket.
    public init(name: String, port: Int) throws {
        directory = FileManager.default.temporaryDirectory.path + "/bidengine-\(name)-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        cluster = try EmbeddedPostgres(stateDirectory: directory, port: port)
        try cluster.start()
    }

    public func remove() {
        try? cluster.forceStop(mode: "immediate")
        try? FileManager.default.removeItem(atPath: directory)
    }
}
