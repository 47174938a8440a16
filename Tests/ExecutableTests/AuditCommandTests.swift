import Foundation
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine audit` as an operator meets it: what it says while it waits, what it refuses before
/// it starts, and the runs an interrupted audit leaves behind. Real processes, a real database.
@Suite(.serialized) struct AuditCommandTests {
    /// A mistyped year is refused at once (exit 64), with how far ahead it is and what it would wait for.
    @Test func anAsOfFarInTheFutureIsRefusedBeforeAnythingStarts() throws {
        let command = try CommandProcess(
            ["audit", "--as-of", "2099-01-01T00:00:00Z"],
            environment: ["DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"])
        #expect(command.waitForExit(within: .seconds(10)) == 64)
        let days = Int(Date(timeIntervalSince1970: 4_070_908_800).timeIntervalSinceNow / 86_400)
        let message =
            "Error: --as-of 2099-01-01T00:00:00Z is \(days) days in the future: the audit would wait until then (plus AUDIT_SETTLE_MS) for its bids to commit. Give a past instant, or leave --as-of out for now"
        #expect(command.stderr.contains(message), "\(command.stderr)")
    }

    /// An audit interrupted while it waits for the settle time leaves its run `running`; the next
    /// audit (of another instant) marks it failed, so `running` always means a live run. The wait
    /// itself is announced at the default level, with the instant it waits for.
    @Test func aRunLeftRunningByAnInterruptedAuditIsMarkedFailedByTheNext() throws {
        let url = try MigratedDatabase.fresh("bidengine_audit_abandoned")
        let report = NSTemporaryDirectory() + "bidengine-audit-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        defer { unlink(report) }
        let first = try CommandProcess(
            ["audit", "--no-migrate", "--as-of", "2026-01-01T00:00:00Z", "--format", "json", "--output", report],
            environment: ["DATABASE_URL": url, "AUDIT_SETTLE_MS": "0"])
        #expect(first.waitForExit(within: .seconds(30)) == 0, "\(first.stderr)")
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains(#""bids_reviewed":0"#))
        let interrupted = try CommandProcess(
            ["audit", "--no-migrate"], environment: ["DATABASE_URL": url, "AUDIT_SETTLE_MS": "120000"])
        #expect(
            interrupted.waitForOutput("waiting for bids stamped before as_of to commit", within: .seconds(30)),
            "\(interrupted.stderr)")
        #expect(interrupted.stderr.contains(#""wait":"#), "\(interrupted.stderr)")
        #expect(interrupted.stderr.contains(#""until":"#), "\(interrupted.stderr)")
        let session = try PostgresSession(connectionString: url)
        defer { session.close() }
        let statuses = "SELECT status, coalesce(error, '') FROM audit_runs ORDER BY id"
        // A run whose process lives is left alone by another audit.
        let meanwhile = try CommandProcess(
            ["audit", "--no-migrate", "--as-of", "2026-01-15T00:00:00Z"],
            environment: ["DATABASE_URL": url, "AUDIT_SETTLE_MS": "0"])
        #expect(meanwhile.waitForExit(within: .seconds(30)) == 0, "\(meanwhile.stderr)")
        #expect(try session.execute(statuses).rows == [["succeeded", ""], ["running", ""], ["succeeded", ""]])

        interrupted.signal(SIGINT)
        #expect(interrupted.waitForExit(within: .seconds(5)) == 128 + SIGINT)
        #expect(try session.execute(statuses).rows == [["succeeded", ""], ["running", ""], ["succeeded", ""]])

        let next = try CommandProcess(
            ["audit", "--no-migrate", "--as-of", "2026-02-01T00:00:00Z"],
            environment: ["DATABASE_URL": url, "AUDIT_SETTLE_MS": "0"])
        #expect(next.waitForExit(within: .seconds(30)) == 0, "\(next.stderr)")
        #expect(next.stderr.contains("runs left running by a process that ended are marked failed"), "\(next.stderr)")
        #expect(
            try session.execute(statuses).rows == [
                ["succeeded", ""], ["failed", "abandoned: the process running it ended before it finished"],
                ["succeeded", ""], ["succeeded", ""],
            ])
    }
}
