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
        let port = try LoopbackListener.freePort()
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

    /// A command run from another directory with the default (relative) state directory uses
    /// another cluster: every command that starts or creates one says which, with its absolute path.
    @Test func everyCommandSaysWhereTheEmbeddedClusterIsWithItsAbsolutePath() throws {
        let state = "/var/tmp/bidengine-where-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let cluster = try EmbeddedPostgres(stateDirectory: state + "/postgres")
        defer {
            if (try? cluster.isRunning()) == true { try? cluster.forceStop(mode: "immediate") }
            try? FileManager.default.removeItem(atPath: state)
        }
        // The same directory, written relative to the working directory the command inherits.
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + String(state.dropFirst())
        let common = ["--state-dir", relative, "--migrations-dir", ServiceHarness.migrationsDirectory]
        let first = try CommandProcess(["migrate"] + common, environment: [:])
        #expect(first.waitForExit(within: .seconds(90)) == 0, "\(first.stderr)")
        #expect(first.stderr.contains(#""msg":"created a new embedded PostgreSQL cluster""#), "\(first.stderr)")
        #expect(first.stderr.contains(#""state_dir":"\#(state)/postgres""#), "\(first.stderr)")
        let audit = try CommandProcess(
            ["audit", "--format", "json"] + common, environment: ["AUDIT_SETTLE_MS": "0"])
        #expect(audit.waitForExit(within: .seconds(60)) == 0, "\(audit.stderr)")
        #expect(audit.stderr.contains(#""level":"notice""#), "\(audit.stderr)")
        #expect(audit.stderr.contains(#""msg":"using the embedded PostgreSQL cluster""#), "\(audit.stderr)")
        #expect(audit.stderr.contains(#""state_dir":"\#(state)/postgres""#), "\(audit.stderr)")
    }

    // MARK: A signal during start-up

    /// The real migrations and a last one that sleeps: it holds a process in start-up, registered
    /// as a user of the cluster, for as long as a test needs.
    static func migrationsHoldingStartup() throws -> String {
        let directory = "/var/tmp/bidengine-hold-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let source = ServiceHarness.migrationsDirectory
        for file in try FileManager.default.contentsOfDirectory(atPath: source) where file.hasSuffix(".sql") {
            try FileManager.default.copyItem(atPath: source + "/" + file, toPath: directory + "/" + file)
        }
        try "SELECT pg_sleep(120);\n".write(
            toFile: directory + "/9999_hold_startup.sql", atomically: true, encoding: .utf8)
        return directory
    }

    /// Waits until some backend of `cluster` runs the sleeping migration.
    static func waitForTheHeldMigration(_ cluster: EmbeddedPostgres, within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let session = try? PostgresSession(connectionString: cluster.connectionString) {
                defer { session.close() }
                let sleeping = try? session.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(120)%'"
                ).scalar
                if sleeping == "1" { return true }
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }

    /// A scratch state directory and a migrations directory that holds start-up, removed after
    /// `body` (the cluster too, if a test left it running).
    static func withHeldStartup(_ body: (_ state: String, _ migrations: String, EmbeddedPostgres) throws -> Void)
        throws
    {
        let state = "/var/tmp/bidengine-startup-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let migrations = try migrationsHoldingStartup()
        let cluster = try EmbeddedPostgres(stateDirectory: state + "/postgres")
        defer {
            if (try? cluster.isRunning()) == true { try? cluster.forceStop(mode: "immediate") }
            try? FileManager.default.removeItem(atPath: state)
            try? FileManager.default.removeItem(atPath: migrations)
        }
        try body(state, migrations, cluster)
    }

    /// A signal while migrating removes the process's users file and, as it was the only user,
    /// stops the cluster: `serve` and `schedule` exit 0, `migrate` dies by the signal as before.
    /// (Before, the file stayed and the cluster ran on until some other bidengine process exited.)
    @Test(arguments: [
        (["serve", "--threads", "1"], SIGTERM, Int32(0)), (["schedule"], SIGINT, Int32(0)),
        (["migrate"], SIGTERM, Int32(128 + SIGTERM)),
    ])
    func signalDuringStartupStopsTheClusterItWasTheOnlyUserOf(
        arguments: [String], signal: Int32, status: Int32
    ) throws {
        try Self.withHeldStartup { state, migrations, cluster in
            let port = arguments[0] == "serve" ? ["--port", String(try LoopbackListener.freePort())] : []
            let command = try CommandProcess(
                arguments + port + ["--state-dir", state, "--migrations-dir", migrations],
                environment: ["LOG_LEVEL": "notice"])
            #expect(Self.waitForTheHeldMigration(cluster, within: .seconds(90)), "\(command.stderr)")
            #expect(try cluster.users() == [command.pid])
            command.signal(signal)
            #expect(command.waitForExit(within: .seconds(10)) == status, "\(command.stderr)")
            #expect(!FileManager.default.fileExists(atPath: state + "/postgres/users/\(command.pid)"))
            #expect(try !cluster.isRunning(), "the cluster outlived its only user")
            if status == 0 {
                // Stopping the cluster breaks the migration's session: that is not announced as a retry.
                let parts = command.stderr.components(separatedBy: "signal during startup; exiting")
                #expect(parts.count == 2, "\(command.stderr)")
                #expect(parts.last?.contains("retrying") == false, "\(command.stderr)")
            }
        }
    }

    /// The same signal leaves the cluster running when another process still uses it (here the
    /// test process itself, registered through the same `start()`), and that one stops it last.
    @Test func signalDuringStartupLeavesTheClusterToItsOtherUser() throws {
        try Self.withHeldStartup { state, migrations, cluster in
            try cluster.start()
            let port = try LoopbackListener.freePort()
            let serve = try CommandProcess(
                [
                    "serve", "--port", String(port), "--threads", "1", "--state-dir", state, "--migrations-dir",
                    migrations,
                ],
                environment: ["LOG_LEVEL": "notice"])
            #expect(Self.waitForTheHeldMigration(cluster, within: .seconds(30)), "\(serve.stderr)")
            #expect(try cluster.users() == [getpid(), serve.pid].sorted())
            serve.signal(SIGTERM)
            #expect(serve.waitForExit(within: .seconds(10)) == 0, "\(serve.stderr)")
            #expect(try cluster.users() == [getpid()])
            #expect(try cluster.isRunning())
            cluster.stop()
            #expect(try !cluster.isRunning())
        }
    }
}
