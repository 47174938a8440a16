import Foundation
import ServiceSettings
import ServiceTestSupport
import Testing

/// One validation of every setting, before anything starts: a bad value is a usage error (exit 64)
/// that names the setting and the value, says what is accepted, and shows the subcommand's usage.
struct SettingsValidationTests {
    struct Case: Sendable, CustomStringConvertible {
        let arguments: [String]
        let environment: [String: String]
        let message: String
        var description: String { "\(arguments) \(environment)" }
    }

    static let refused: [Case] = [
        Case(
            arguments: ["serve"], environment: ["ACCESS_LOG": "maybe"],
            message: "ACCESS_LOG must be true, false, 1, 0, on, off, yes or no, got 'maybe'"),
        Case(
            arguments: ["serve"], environment: ["LOG_LEVEL": "loud"],
            message:
                "LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical, got 'loud'"),
        Case(
            arguments: ["serve"], environment: ["DATABASE_TIMEOUT_MS": "0"],
            message: "DATABASE_TIMEOUT_MS must be a whole number from 1 to 600000 (milliseconds), got '0'"),
        Case(
            arguments: ["serve"], environment: ["DATABASE_TIMEOUT_MS": "-5"],
            message: "DATABASE_TIMEOUT_MS must be a whole number from 1 to 600000 (milliseconds), got '-5'"),
        Case(
            arguments: ["serve", "--threads=-1"], environment: [:],
            message: "--threads must be a whole number from 1 to 1024, or 0 for one event loop per core, got '-1'"),
        Case(
            arguments: ["serve", "--request-timeout", "-1"], environment: [:],
            message: "--request-timeout must be a whole number from 1 to 3600 (seconds), got '-1'"),
        Case(
            arguments: ["serve", "--port", "70000"], environment: [:],
            message: "--port must be a whole number from 1 to 65535, or 0 for any free port, got '70000'"),
        Case(
            arguments: ["serve"], environment: ["MAX_BODY_SIZE": "abc"],
            message: "MAX_BODY_SIZE must be a whole number from 1 to 67108864 (bytes), got 'abc'"),
        Case(
            arguments: ["serve"], environment: ["CONNECT_TIMEOUT": "0"],
            message: "CONNECT_TIMEOUT must be a whole number from 1 to 3600"),
        Case(
            arguments: ["audit", "--window", "-1d"], environment: [:],
            message: "--window / AUDIT_WINDOW must be a length such as 7d, 36h or 1d12h (at most 3650d), got '-1d'"),
        Case(
            arguments: ["audit", "--threshold", "20"], environment: [:],
            message:
                "--threshold / AUDIT_THRESHOLD '20' is ambiguous: a bare number is a fraction of the current CPC, so it would mean 2000%. Write 20% for 20 percent, or a fraction such as 0.20; a deviation above 100% must be written as a percentage (2000%)"
        ),
        Case(
            arguments: ["schedule"], environment: ["AUDIT_THRESHOLD": "1.5"],
            message:
                "--threshold / AUDIT_THRESHOLD '1.5' is ambiguous: a bare number is a fraction of the current CPC, so it would mean 150%."
        ),
        Case(
            arguments: ["audit", "--output", "/missing/dir/x"], environment: [:],
            message: "--output /missing/dir/x: the directory /missing/dir does not exist"),
        Case(
            arguments: ["audit", "--as-of", "2099-01-01T00:00:00Z"], environment: [:],
            message: "--as-of 2099-01-01T00:00:00Z is "),
        Case(
            arguments: ["poll"], environment: ["COMPETITOR_SOURCES": "http://a.example;http://b.example"],
            message:
                "invalid competitor source 'http://a.example;http://b.example': separate sources with commas, not semicolons: http://a.example,http://b.example"
        ),
        Case(
            arguments: ["schedule"], environment: ["COMPETITOR_SOURCES": "a;b"],
            message: "invalid competitor source 'a;b': separate sources with commas, not semicolons: a,b"),
        Case(
            // pragma: allowlist nextline secret (a fake URL)
            arguments: ["migrate"], environment: ["DATABASE_URL": "mysql://app:secret@db/bids"],
            message:
                "DATABASE_URL must be a libpq connection URI (postgresql://user@host:5432/db) or key=value string (the URI scheme must be postgresql:// or postgres://, not mysql://), got 'mysql://app:****@db/bids'"
        ),
        Case(
            arguments: ["serve"], environment: ["DATABASE_URL": "postgres//app:secret@db/bids"],
            message:
                "DATABASE_URL must be a libpq connection URI (postgresql://user@host:5432/db) or key=value string (no postgresql:// scheme, and not key=value pairs: missing \"=\" after \"postgres//app:****@db/bids\" in connection info string), got 'postgres//app:****@db/bids'"
        ),
        Case(
            arguments: ["poll", "--source", "notaurl"], environment: [:],
            message: "invalid competitor source 'notaurl'"),
        Case(
            arguments: ["schedule"],
            environment: ["POLL_INTERVAL": "500ms", "COMPETITOR_SOURCES": "http://127.0.0.1:9"],
            message: "POLL_INTERVAL must be a duration of at least 1s such as 300, 5m or 1h, got '500ms'"),
        Case(
            arguments: ["schedule", "--shutdown-timeout", "0"], environment: [:],
            message: "--shutdown-timeout must be a whole number from 1 to 3600 (seconds), got '0'"),
        Case(
            arguments: ["migrate"], environment: ["LOG_LEVEL": "verbose"],
            message: "LOG_LEVEL must be one of trace"),
        Case(
            arguments: ["serve"], environment: ["DATABASE_POOLER": "session"],
            message:
                "DATABASE_POOLER must be none or transaction (a transaction pooler such as PgBouncer in transaction mode), got 'session'"
        ),
        Case(
            arguments: ["migrate"],
            environment: ["DATABASE_URL": "host=/nonexistent dbname=x", "DATABASE_POOLER": "transaction"],
            message:
                "Migrating needs a PostgreSQL session, which a transaction pooler (DATABASE_POOLER=transaction) does not keep: set DATABASE_DIRECT_URL to a connection that bypasses the pooler"
        ),
        Case(
            arguments: ["schedule"],
            environment: ["DATABASE_URL": "host=/nonexistent dbname=x", "DATABASE_POOLER": "transaction"],
            message: "The scheduler's leader lock needs a PostgreSQL session, which a transaction pooler"),
        Case(
            arguments: ["serve"], environment: ["READ_MAX_LAG": "fast"],
            message: "READ_MAX_LAG must be seconds (5) or milliseconds (500ms), got 'fast'"),
        Case(
            arguments: ["schedule"], environment: ["AUDIT_AT": "25:00"],
            message: "AUDIT_AT / --audit-at must be HH:MM (24-hour), got '25:00'"),
        Case(
            arguments: ["schedule"], environment: ["MAINTENANCE_AT": "1am"],
            message: "MAINTENANCE_AT must be HH:MM (24-hour, UTC), got '1am'"),
        Case(
            arguments: ["maintain"], environment: ["BIDS_RETENTION": "5y"],
            message:
                "BIDS_RETENTION must be a whole number of hours, days or weeks such as 36h, 400d or 13w, or 'forever', got '5y'"
        ),
        Case(
            arguments: ["audit"], environment: ["AUDIT_REPLICA_BEHIND": "replica"],
            message: "AUDIT_REPLICA_BEHIND must be primary or fail, got 'replica'"),
        Case(
            arguments: ["audit"], environment: ["AUDIT_WINDOW": "1y"],
            message: "--window / AUDIT_WINDOW must be a length such as 7d, 36h or 1d12h (at most 3650d), got '1y'"),
        Case(
            arguments: ["poll", "--source", "http://127.0.0.1:9"], environment: ["POLL_PAGE_SIZE": "0"],
            message: "POLL_PAGE_SIZE must be an integer from 1 to 1000, got '0'"),
    ]

    /// A state directory that must stay empty: nothing may start before the settings are checked.
    @Test(arguments: refused)
    func badSettingIsRefusedByNameBeforeAnythingStarts(_ refused: Case) throws {
        let state = NSTemporaryDirectory() + "bidengine-settings-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: state) }
        let command = try CommandProcess(
            refused.arguments + ["--state-dir", state], environment: refused.environment)
        #expect(command.waitForExit(within: .seconds(10)) == 64)
        #expect(command.stderr.contains("Error: \(refused.message)"), "\(command.stderr)")
        #expect(command.stderr.contains("Usage: bidengine \(refused.arguments[0])"), "\(command.stderr)")
        #expect(!FileManager.default.fileExists(atPath: state), "started something under \(state)")
    }

    /// An empty `BIDENGINE_STATE_DIR` counts as unset: the cluster goes under `.bidengine`, not `/postgres`.
    @Test func anEmptyStateDirectoryCountsAsUnset() throws {
        let empty = SettingReader(environment: ["BIDENGINE_STATE_DIR": ""])
        #expect(try empty.value(Settings.stateDirectory) == ".bidengine")
        let set = SettingReader(environment: ["BIDENGINE_STATE_DIR": "/var/lib/bidengine"])
        #expect(try set.value(Settings.stateDirectory) == "/var/lib/bidengine")
        #expect(try set.value(Settings.stateDirectory, flag: "/srv/state") == "/srv/state")
        #expect(throws: SettingError(setting: "--state-dir", value: "", accepts: "a directory path")) {
            try set.value(Settings.stateDirectory, flag: "")
        }
    }

    /// `--state-dir ""` is a usage error, before anything starts.
    @Test func anEmptyStateDirectoryFlagIsRefused() throws {
        let command = try CommandProcess(["migrate", "--state-dir", ""], environment: ["BIDENGINE_STATE_DIR": ""])
        #expect(command.waitForExit(within: .seconds(10)) == 64)
        #expect(command.stderr.contains("Error: --state-dir must be a directory path, got ''"), "\(command.stderr)")
    }

    @Test func booleansAcceptTheUsualWordsInAnyCaseAndNothingElse() throws {
        let setting = Settings.accessLog
        for text in ["true", "TRUE", "1", "on", "On", "yes", "YES"] {
            #expect(try setting.parse(text, from: "X") == true)
        }
        for text in ["false", "False", "0", "off", "OFF", "no", "No"] {
            #expect(try setting.parse(text, from: "X") == false)
        }
        for text in ["", "2", "enabled", "y", "nope"] {
            #expect(throws: SettingError.self) { try setting.parse(text, from: "ACCESS_LOG") }
        }
    }

    @Test func flagWinsOverEnvironmentWhichWinsOverDefault() throws {
        let reader = SettingReader(environment: ["THREADS": "3", "ACCESS_LOG": "off", "PORT": ""])
        #expect(try reader.value(Settings.threads, flag: "2") == 2)
        #expect(try reader.value(Settings.threads) == 3)
        #expect(try reader.value(Settings.port) == 8080)
        #expect(try reader.value(Settings.accessLog) == false)
        #expect(try reader.value(Settings.logLevel).rawValue == "info")
        #expect(throws: SettingError(setting: "--threads", value: "x", accepts: Settings.threads.accepts)) {
            try reader.value(Settings.threads, flag: "x")
        }
    }
}

/// `serve --help` lists every route of openapi.yaml and points to it.
struct ServeHelpTests {
    @Test func helpListsEveryRouteOfTheContract() throws {
        let contract = try String(
            contentsOfFile: ServiceHarness.migrationsDirectory + "/../openapi.yaml", encoding: .utf8)
        let paths = contract.split(separator: "\n").filter { $0.hasPrefix("  /") && $0.hasSuffix(":") }
            .map { String($0.dropFirst(2).dropLast()) }.filter { !$0.hasSuffix("/") }
        #expect(paths.count >= 12)
        let command = try CommandProcess(["serve", "--help"], environment: [:])
        #expect(command.waitForExit(within: .seconds(10)) == 0)
        let help = try String(contentsOfFile: command.stdoutPath, encoding: .utf8)
        for path in paths { #expect(help.contains(" \(path) "), "serve --help does not list \(path)") }
        #expect(help.contains("openapi.yaml"))
    }
}

/// Every subcommand's help reads as paragraphs wrapped once, below 80 columns: no line ends early
/// because the text itself had a line break where the wrapper would have gone on.
struct HelpWrappingTests {
    @Test(arguments: ["serve", "audit", "schedule", "maintain", "migrate", "poll", "price"])
    func helpParagraphsAreWrappedEvenly(subcommand: String) throws {
        let command = try CommandProcess([subcommand, "--help"], environment: ["COLUMNS": "80"])
        #expect(command.waitForExit(within: .seconds(10)) == 0)
        let help = try String(contentsOfFile: command.stdoutPath, encoding: .utf8)
        let lines = help.components(separatedBy: "\n").prefix { !$0.hasPrefix("USAGE:") }
        for (line, next) in zip(lines, lines.dropFirst()) {
            guard !line.isEmpty, !next.isEmpty, !line.hasPrefix(" "), !next.hasPrefix(" "), !line.hasSuffix(":")
            else { continue }
            let nextWord = next.prefix { $0 != " " }
            #expect(
                line.count + 1 + nextWord.count >= 80,
                "\(subcommand) --help breaks early: '\(line)' could have taken '\(nextWord)'")
        }
    }
}
