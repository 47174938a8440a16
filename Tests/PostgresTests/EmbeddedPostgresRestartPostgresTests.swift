import Foundation
import Testing

@testable import Postgres

/// Starts a private embedded cluster, stops it and starts it again: the restarted server runs
/// with every setting the first start gave it.
@Suite(.serialized) struct EmbeddedPostgresRestartPostgresTests {
    /// Each of `EmbeddedPostgres.serverSettings` as `SHOW` reports it, by name.
    private func shownSettings(_ cluster: EmbeddedPostgres) throws -> [String: String] {
        let session = try PostgresSession(connectionString: cluster.connectionString)
        var shown: [String: String] = [:]
        for setting in EmbeddedPostgres.serverSettings {
            let name = String(setting.prefix { $0 != "=" })
            shown[name] = try session.execute("SHOW \(name)").scalar
        }
        return shown
    }

    @Test func aRestartedClusterHasTheSettingsOfItsFirstStart() throws {
        let directory = FileManager.default.temporaryDirectory.path + "/bidengine-restart-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        let cluster = try EmbeddedPostgres(stateDirectory: directory, port: 5495)
        defer {
            try? cluster.forceStop(mode: "immediate")
            try? FileManager.default.removeItem(atPath: directory)
        }
        try cluster.start()
        let first = try shownSettings(cluster)
        #expect(first["shared_buffers"] == "256MB")
        #expect(first["max_connections"] == "200")

        try cluster.forceStop(mode: "fast")
        try cluster.restart()
        let restarted = try shownSettings(cluster)
        #expect(restarted == first)
        #expect(restarted["shared_buffers"] == "256MB")
        #expect(restarted.count == EmbeddedPostgres.serverSettings.count)
    }
}
