import Foundation
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

/// The README's exit-status table, status by status, on real `bidengine` processes: 0 success, 1
/// runtime failure, 64 usage (SettingsValidationTests has one case per setting), 3 flags found.
@Suite(.serialized) struct ExitStatusTests {
    private static func audit(_ url: String, _ arguments: [String]) throws -> CommandProcess {
        try CommandProcess(
            ["audit", "--no-migrate"] + arguments,
            environment: ["DATABASE_URL": url, "AUDIT_SETTLE_MS": "0", "LOG_LEVEL": "warning"])
    }

    @Test func auditExitsThreeWithFailOnFlagsOnlyWhenSomethingIsFlagged() throws {
        let url = try MigratedDatabase.fresh("bidengine_exit_flags")
        // Nothing in the window: 0, with or without --fail-on-flags.
        #expect(try Self.audit(url, ["--fail-on-flags"]).waitForExit(within: .seconds(30)) == 0)
        let session = try PostgresSession(connectionString: url)
        defer { session.close() }
        // 2.00 priced at 3.30: a deviation of 1.30 against 0.40 allowed (threshold 0.20).
        try session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            VALUES (2, 2.00, 100, 3.30, now() - interval '1 hour')
            """)
        let flagged = try Self.audit(url, ["--fail-on-flags", "--format", "json"])
        #expect(flagged.waitForExit(within: .seconds(30)) == 3, "\(flagged.stderr)")
        let report = try String(contentsOfFile: flagged.stdoutPath, encoding: .utf8)
        #expect(report.contains(#""bids_flagged":1"#), "\(report)")
        // The same run without the flag is a success: the audit ran.
        #expect(try Self.audit(url, []).waitForExit(within: .seconds(30)) == 0)
    }

    @Test func aMissingMigrationsDirectoryIsARuntimeFailure() throws {
        let command = try CommandProcess(
            ["migrate", "--migrations-dir", "/nonexistent/bidengine-migrations"],
            environment: ["DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"])
        #expect(command.waitForExit(within: .seconds(10)) == 1, "\(command.stderr)")
    }
}

/// The README's examples write a bare `bidengine`: `make install` puts it on the PATH under
/// `PREFIX`, and the installed binary finds its migrations under `PREFIX/share/bidengine` from
/// any working directory. The Makefile's own recipe, given the test build instead of a release one.
struct InstallLayoutTests {
    @Test func installedBinaryFindsItsMigrationsFromAnyDirectory() throws {
        let root = URL(fileURLWithPath: ServiceHarness.migrationsDirectory).deletingLastPathComponent().path
        let prefix = "/var/tmp/bidengine-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let make = try Self.run(
            "/usr/bin/make",
            ["-s", "-C", root, "-o", "release", "install", "RELEASE_BIN=\(CommandProcess.binary)", "PREFIX=\(prefix)"],
            directory: root, environment: [:])
        #expect(make.status == 0, "\(make.output)")
        #expect(FileManager.default.fileExists(atPath: prefix + "/share/bidengine/openapi.yaml"))

        let url = try TestDatabase.fresh("bidengine_installed")
        var environment = ProcessInfo.processInfo.environment
        environment["BIDENGINE_MIGRATIONS_DIR"] = nil
        environment["DATABASE_URL"] = url
        let migrate = try Self.run(prefix + "/bin/bidengine", ["migrate"], directory: "/", environment: environment)
        #expect(migrate.status == 0, "\(migrate.output)")
        #expect(migrate.output.contains("migrations: applied 0001_create_bids"), "\(migrate.output)")
    }

    private static func run(
        _ executable: String, _ arguments: [String], directory: String, environment: [String: String]
    ) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        if !environment.isEmpty { process.environment = environment }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
