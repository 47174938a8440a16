import Foundation
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `serve` and `schedule` on one state directory share the embedded cluster: whichever stops
/// first leaves it running for the other, and the last one stops it. Real processes.
@Suite(.serialized) struct SharedClusterTests {
    @Test(arguments: ["serve", "schedule"])
    func embeddedClusterOutlivesItsFirstUser(stoppedFirst: String) throws {
        let state = "/var/tmp/bidengine-shared-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let cluster = try EmbeddedPostgres(stateDirectory: state + "/postgres")
        defer {
            if (try? cluster.isRunning()) == true { try? cluster.forceStop(mode: "immediate") }
            try? FileManager.default.removeItem(atPath: state)
        }
        let port = try GracefulShutdownPostgresTests.freePort()
        let common = ["--state-dir", state, "--migrations-dir", ServiceHarness.migrationsDirectory]
        let serve = try CommandProcess(
            ["serve", "--port", String(port), "--threads", "1"] + common, environment: ["LOG_LEVEL": "notice"])
        #expect(serve.waitForOutput(#""msg":"serving""#, within: .seconds(90)), "\(serve.stderr)")
        let schedule = try CommandProcess(["schedule"] + common, environment: ["LOG_LEVEL": "notice"])
        #expect(schedule.waitForOutput(#""msg":"starting""#, within: .seconds(30)), "\(schedule.stderr)")
        #expect(try cluster.users() == [serve.pid, schedule.pid].sorted())

        let (first, second) = stoppedFirst == "serve" ? (serve, schedule) : (schedule, serve)
        first.signal(SIGTERM)
        #expect(first.waitForExit(within: .seconds(15)) == 0, "\(first.stderr)")
        #expect(try cluster.isRunning())
        #expect(try cluster.users() == [second.pid])
        // The survivor keeps working on the cluster.
        if second === serve {
            let client = try TestHTTPClient(port: port)
            let response = try client.request(
                "POST", "/api/bid", headers: [("Content-Type", "application/json")],
                body: Array(#"{"product_id":5,"current_cpc":2,"target_roas":110}"#.utf8))
            #expect(response.status == 200)
        } else {
            let session = try PostgresSession(connectionString: cluster.connectionString)
            let holders = try session.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")
            // The leader lock, and whatever lock a job holds at that moment.
            #expect((holders.rows.first?[0].flatMap { Int($0) } ?? 0) >= 1, "the scheduler lost its leadership lock")
        }
        #expect(second.isRunning)

        second.signal(SIGTERM)
        #expect(second.waitForExit(within: .seconds(15)) == 0, "\(second.stderr)")
        #expect(try !cluster.isRunning())
        #expect(try cluster.users().isEmpty)
    }
}
