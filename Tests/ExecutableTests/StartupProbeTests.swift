import Foundation
import HTTPTestSupport
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `serve` while its database cannot be reached yet: the port answers liveness at once (an
/// orchestrator must not kill a pod that only waits for its database), readiness and the API
/// answer 503 until the database is there. Real `bidengine` processes over real sockets.
@Suite(.serialized) struct StartupProbeTests {
    static let bid = Array(#"{"product_id":77,"current_cpc":2,"target_roas":110}"#.utf8)

    /// A closed port: every attempt is refused at once and start-up retries with backoff.
    @Test func livenessAnswersWhileTheDatabaseIsUnreachableAndASignalStillExitsAtOnce() throws {
        let databasePort = try LoopbackListener.freePort()
        let port = try LoopbackListener.freePort()
        let command = try CommandProcess(
            [
                "serve", "--port", String(port), "--threads", "2", "--migrations-dir",
                ServiceHarness.migrationsDirectory,
            ],
            environment: [
                "DATABASE_URL": "postgresql://postgres@127.0.0.1:\(databasePort)/bidengine", "LOG_LEVEL": "info",
            ])
        #expect(command.waitForOutput(#""attempt":"2""#, within: .seconds(10)), "\(command.stderr)")

        let client = try TestHTTPClient(port: port, timeout: .seconds(2))
        let alive = try client.request("GET", "/healthz")
        #expect(alive.status == 200)
        #expect(alive.text == #"{"status":"ok"}"#)
        let ready = try client.request("GET", "/readyz")
        #expect(ready.status == 503)
        #expect(ready.text == #"{"status":"unavailable","reason":"starting: waiting for the database"}"#)
        let bid = try client.request(
            "POST", "/api/bid", headers: [("Content-Type", "application/json")], body: Self.bid)
        #expect(bid.status == 503)
        #expect(bid.header("Retry-After") == "1")
        #expect(bid.text == #"{"error":"starting: waiting for the database; retry later"}"#)
        #expect(try client.request("GET", "/metrics").status == 200)
        #expect(try client.request("GET", "/nowhere").status == 404)

        let sent = ContinuousClock.now
        command.signal(SIGTERM)
        #expect(command.waitForExit(within: .seconds(1)) == 0)
        #expect(sent.duration(to: .now) < .seconds(1))
        // The signal's line is the last: no retry is announced after it.
        let lines = command.stderr.split(separator: "\n")
        #expect(lines.last?.contains("signal during startup; exiting") == true, "\(command.stderr)")
    }

    /// The database appears while `serve` waits: readiness turns 200 and bids are recorded, on the
    /// same port, without a restart. The database is a socket directory that is empty at first (a
    /// refused connection) and then gets a link to the test cluster's socket.
    @Test func readinessTurnsReadyOnceTheDatabaseAppears() throws {
        let url = try TestDatabase.fresh("bidengine_startup_probes")
        let options = Dictionary(try ConnectionString.parse(url), uniquingKeysWith: { $1 })
        guard let socketDirectory = options["host"], socketDirectory.hasPrefix("/"),
            let databasePort = options["port"], let name = options["dbname"]
        else {
            // TEST_DATABASE_URL over TCP: there is no socket file to link to.
            return
        }
        let waiting = NSTemporaryDirectory() + "bidengine-startup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: waiting, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: waiting) }
        let port = try LoopbackListener.freePort()
        let command = try CommandProcess(
            [
                "serve", "--port", String(port), "--threads", "1", "--migrations-dir",
                ServiceHarness.migrationsDirectory,
            ],
            environment: [
                "DATABASE_URL": "host=\(waiting) port=\(databasePort) user=postgres dbname=\(name)",
                "LOG_LEVEL": "info",
            ])
        defer { command.signal(SIGKILL) }
        #expect(
            command.waitForOutput("database unavailable at startup; retrying", within: .seconds(10)),
            "\(command.stderr)")
        let client = try TestHTTPClient(port: port, timeout: .seconds(2))
        #expect(try client.request("GET", "/healthz").status == 200)
        #expect(try client.request("GET", "/readyz").status == 503)

        try FileManager.default.createSymbolicLink(
            atPath: waiting + "/.s.PGSQL.\(databasePort)",
            withDestinationPath: socketDirectory + "/.s.PGSQL.\(databasePort)")
        #expect(command.waitForOutput(#""msg":"serving""#, within: .seconds(20)), "\(command.stderr)")
        var ready = try client.request("GET", "/readyz")
        let deadline = ContinuousClock.now + .seconds(10)
        while ready.status != 200, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            ready = try client.request("GET", "/readyz")
        }
        #expect(ready.status == 200, "\(ready.text)")
        #expect(ready.text == #"{"status":"ready"}"#)
        let bid = try client.request(
            "POST", "/api/bid", headers: [("Content-Type", "application/json")], body: Self.bid)
        #expect(bid.status == 200, "\(bid.text)")
        command.signal(SIGTERM)
        #expect(command.waitForExit(within: .seconds(15)) == 0)
    }
}
