import Foundation
import Postgres
import ServiceTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine migrate | head` and `bidengine maintain | head` with `head` gone: the write to stdout
/// fails, and the command still finishes its work and stops the embedded cluster it started.
@Suite(.serialized) struct BrokenPipeCommandTests {
    @Test(arguments: [["migrate"], ["maintain", "--dry-run"]])
    func aReaderThatWentAwayStillLetsTheCommandStopItsEmbeddedCluster(command: [String]) throws {
        let state = "/var/tmp/bidengine-pipe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let cluster = try EmbeddedPostgres(stateDirectory: state + "/postgres")
        defer {
            if (try? cluster.isRunning()) == true { try? cluster.forceStop(mode: "immediate") }
            try? FileManager.default.removeItem(atPath: state)
        }
        let process = try CommandProcess(
            command + ["--state-dir", state, "--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: ["LOG_LEVEL": "error"], stdoutReaderGone: true)
        #expect(process.waitForExit(within: .seconds(90)) == 0, "\(process.stderr)")
        #expect(try !cluster.isRunning())
        #expect(try cluster.users().isEmpty)
    }
}
