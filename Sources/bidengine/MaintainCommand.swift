import ArgumentParser
import Foundation
import Logging
import Maintenance
import Postgres
import ServiceSupport

/// `bidengine maintain`: one maintenance pass now (the scheduler runs the same pass daily).
struct MaintainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintain",
        abstract: "Create bid partitions ahead, empty bids_default, and apply the retention settings once.",
        discussion: """
            Creates the monthly partitions of bids for this month and the next two, moves rows waiting in
            bids_default into the partition of their month, then removes what is older than the retention
            settings: whole bids partitions (detached, then dropped), competitor_prices and finished poll_runs,
            finished audit runs with their flags, products and bands (deleted in batches of 5,000). Prints one
            line per action: created, moved, detached, dropped, deleted, with row counts. An advisory lock
            admits one pass at a time; a second one prints that it was skipped and exits 0.
            Environment: BIDS_RETENTION, COMPETITOR_PRICES_RETENTION, AUDIT_RETENTION (36h, 400d, 13w, or
            forever; default forever: keep everything), DATABASE_URL, BIDENGINE_STATE_DIR,
            BIDENGINE_MIGRATIONS_DIR, CONNECT_TIMEOUT, LOG_LEVEL (default warning).
            """)

    @Flag(name: .customLong("dry-run"), help: "Print what would be done; change nothing.")
    var dryRun = false
    @Option(help: "Output format: text or json.")
    var format: String = "text"
    @OptionGroup var database: AuditCommand.DatabaseOptions

    func validate() throws {
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
        do {
            _ = try MaintenanceSettings(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        _ = try CommonSettings.read(ProcessInfo.processInfo.environment)
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        JSONLogHandler.bootstrap(levelName: environment["LOG_LEVEL"] ?? "warning")
        let settings = try MaintenanceSettings(environment: environment)
        let database = try self.database.open(
            environment: environment, connectTimeoutSeconds: try CommonSettings.read(environment).connectTimeoutSeconds)
        defer { database.embedded?.stop() }
        let session = try PostgresSession(connectionString: database.connectionString)
        defer { session.close() }
        let report = try Maintainer(settings: settings).run(session: session, dryRun: dryRun)
        print(format == "json" ? report.json : report.text, terminator: "")
    }
}
