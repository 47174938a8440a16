import Foundation
import HTTPTestSupport
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A database that accepts TCP and never answers (a black-holed address, a frozen proxy): the
/// kernel completes the handshake on a listening socket nobody reads. Real `bidengine` processes.
@Suite(.serialized) struct SilentDatabaseTests {
    static func silentURL(_ listener: LoopbackListener) -> String {
        "postgresql://postgres@127.0.0.1:\(listener.port)/bidengine"
    }

    @Test(arguments: [["serve", "--port", "0"], ["schedule"]])
    func longRunningCommandRetriesAndExitsZeroOnSignalDuringStartup(arguments: [String]) throws {
        let listener = try LoopbackListener()
        let command = try CommandProcess(
            arguments + ["--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: ["DATABASE_URL": Self.silentURL(listener), "CONNECT_TIMEOUT": "2", "LOG_LEVEL": "warning"])
        // libpq rounds the timeout up to 2 s; two attempts and a 0.5 s backoff fit in 8 s.
        #expect(command.waitForOutput(#""attempt":"2""#, within: .seconds(8)), "\(command.stderr)")
        #expect(command.stderr.contains("database unavailable at startup; retrying"))
        #expect(command.stderr.contains("timeout expired"))
        for signal in [SIGTERM, SIGINT] where command.isRunning {
            let sent = ContinuousClock.now
            command.signal(signal)
            let status = command.waitForExit(within: .seconds(1))
            #expect(status == 0, "exit status after signal \(signal): \(String(describing: status))")
            #expect(sent.duration(to: .now) < .seconds(1))
        }
    }

    @Test func sigintDuringStartupAlsoExitsZero() throws {
        let listener = try LoopbackListener()
        let command = try CommandProcess(
            ["serve", "--port", "0", "--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: ["DATABASE_URL": Self.silentURL(listener), "CONNECT_TIMEOUT": "30", "LOG_LEVEL": "info"])
        #expect(command.waitForOutput("listening socket bound", within: .seconds(5)), "\(command.stderr)")
        Thread.sleep(forTimeInterval: 0.3)  // inside libpq's connect, waiting for the silent server
        command.signal(SIGINT)
        #expect(command.waitForExit(within: .seconds(1)) == 0)
    }

    @Test(arguments: [["migrate"], ["audit"]])
    func cliCommandGivesUpAfterTheConnectTimeout(arguments: [String]) throws {
        let listener = try LoopbackListener()
        let started = ContinuousClock.now
        let command = try CommandProcess(
            arguments + ["--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: ["DATABASE_URL": Self.silentURL(listener), "CONNECT_TIMEOUT": "2"])
        let status = command.waitForExit(within: .seconds(8))
        #expect(status == 1)
        #expect(started.duration(to: .now) >= .seconds(2))
        #expect(command.stderr.contains("timeout expired"), "\(command.stderr)")
    }

    @Test func urlConnectTimeoutWinsOverTheSetting() throws {
        let listener = try LoopbackListener()
        let started = ContinuousClock.now
        let command = try CommandProcess(
            ["migrate", "--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: ["DATABASE_URL": Self.silentURL(listener) + "?connect_timeout=2", "CONNECT_TIMEOUT": "60"])
        #expect(command.waitForExit(within: .seconds(8)) == 1)
        #expect(started.duration(to: .now) < .seconds(8))
    }

    @Test func busyPortFailsBeforeTheDatabaseWork() throws {
        let busy = try LoopbackListener()
        let database = try LoopbackListener()
        let command = try CommandProcess(
            ["serve", "--port", String(busy.port), "--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: ["DATABASE_URL": Self.silentURL(database), "CONNECT_TIMEOUT": "30", "LOG_LEVEL": "info"])
        #expect(command.waitForExit(within: .seconds(3)) == 1)
        #expect(command.stderr.contains("cannot start"), "\(command.stderr)")
        #expect(!command.stderr.contains("database unavailable"), "touched the database first: \(command.stderr)")
    }

    // MARK: DATABASE_READ_URL

    /// The audit's replica session gets `CONNECT_TIMEOUT` like every other (first case), and a
    /// `connect_timeout` in `DATABASE_READ_URL` wins over it (second): a replica that never answers
    /// makes the run fall back to the primary after 2 s. It used to hang forever.
    @Test(arguments: [("", "2"), ("?connect_timeout=2", "60")])
    func auditFallsBackToThePrimaryWhenTheReadReplicaNeverAnswers(urlSuffix: String, connectTimeout: String) throws {
        let database = try TestDatabase.fresh("bidengine_silent_replica_audit")
        let replica = try LoopbackListener()
        let started = ContinuousClock.now
        let command = try CommandProcess(
            ["audit", "--format", "json", "--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: [
                "DATABASE_URL": database, "DATABASE_READ_URL": Self.silentURL(replica) + urlSuffix,
                "CONNECT_TIMEOUT": connectTimeout, "AUDIT_SETTLE_MS": "0", "LOG_LEVEL": "notice",
            ])
        #expect(command.waitForExit(within: .seconds(20)) == 0, "\(command.stderr)")
        #expect(started.duration(to: .now) >= .seconds(2))
        #expect(command.stderr.contains("the audit scans the primary instead of the read replica"), "\(command.stderr)")
        #expect(command.stderr.contains("timeout expired"), "\(command.stderr)")
    }

    /// `serve`'s replica connections are timed by their loop (they connect without blocking):
    /// reads are answered by the primary while the replica never answers, and each failed
    /// attempt is logged with the timeout.
    @Test func serveAnswersReadsFromThePrimaryWhenTheReadReplicaNeverAnswers() throws {
        let database = try TestDatabase.fresh("bidengine_silent_replica_serve")
        let replica = try LoopbackListener()
        let port = try LoopbackListener.freePort()
        let command = try CommandProcess(
            [
                "serve", "--port", String(port), "--threads", "1", "--migrations-dir",
                ServiceHarness.migrationsDirectory,
            ],
            environment: [
                "DATABASE_URL": database, "DATABASE_READ_URL": Self.silentURL(replica), "CONNECT_TIMEOUT": "2",
                "LOG_LEVEL": "info",
            ])
        defer { command.signal(SIGTERM) }
        #expect(command.waitForOutput(#""msg":"serving""#, within: .seconds(30)), "\(command.stderr)")
        let response = try TestHTTPClient(port: port).request("GET", "/api/bids/1")
        #expect(response.status == 404)
        #expect(command.waitForOutput("read replica connection failed", within: .seconds(6)), "\(command.stderr)")
        #expect(command.stderr.contains("connecting to PostgreSQL timed out"), "\(command.stderr)")
        command.signal(SIGTERM)
        #expect(command.waitForExit(within: .seconds(15)) == 0)
    }
}
