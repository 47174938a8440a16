import Foundation
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
}
