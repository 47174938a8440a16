import Foundation
import Postgres
import ServiceTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine poll` as a process, on its own embedded cluster.
@Suite(.serialized) struct PollCommandTests {
    /// `bidengine poll | head` with `head` gone: writing the summary must not kill the process
    /// before it has stopped the embedded cluster it started.
    @Test func aReaderThatWentAwayStillLetsPollStopItsEmbeddedCluster() throws {
        let state = "/var/tmp/bidengine-poll-pipe-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let cluster = try EmbeddedPostgres(stateDirectory: state + "/postgres")
        defer {
            if (try? cluster.isRunning()) == true { try? cluster.forceStop(mode: "immediate") }
            try? FileManager.default.removeItem(atPath: state)
        }
        // Nothing listens there: the source fails at once, and the summary says so on stdout.
        let source = "http://127.0.0.1:\(try LoopbackListener.freePort())"
        let poll = try CommandProcess(
            ["poll", "--source", source, "--state-dir", state, "--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: ["POLL_MAX_ATTEMPTS": "1", "LOG_LEVEL": "error"], stdoutReaderGone: true)
        #expect(poll.waitForExit(within: .seconds(90)) == 1, "\(poll.stderr)")
        #expect(try !cluster.isRunning())
        #expect(try cluster.users().isEmpty)
    }
}
