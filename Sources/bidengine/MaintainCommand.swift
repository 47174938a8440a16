import ArgumentParser
import Foundation
import Logging
import Maintenance
import Observability
import Postgres

/// `bidengine maintain`: one maintenance pass now (the scheduler runs the same pass daily).
struct MaintainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintain",
        abstract: "Create bid partitions ahead, empty bids_default, and apply the retention settings once.",
        discussion: """
            Creates the monthly partitions of bids for this month and the next two, moves rows waiting in \
            bids_default into the partition of their month, then removes what is older than the retention \
            settings: bids by whole UTC months (monthly partitions detached and dropped, older rows of \
            bids_legacy and bids_default deleted in batches), competitor_prices and finished poll_runs, \
            finished audit runs with their flags, products and bands (deleted in batches of 5,000). Prints one \
            line per action: created, moved, detached, dropped, deleted, with row counts (with --dry-run: would \
            create, would move …, and nothing changes). An advisory lock \
            admits one pass at a time; a second one prints that it was skipped and exits 0.

            Environment: BIDS_RETENTION, COMPETITOR_PRICES_RETENTION, AUDIT_RETENTION (36h, 400d, 13w, or \
            forever; default forever: keep everything), DATABASE_URL, BIDENGINE_STATE_DIR, \
            BIDENGINE_MIGRATIONS_DIR, CONNECT_TIMEOUT, LOG_LEVEL (default notice; warning when stderr is a terminal).

            Progress goes to stderr, never into the report on stdout: the step (creating, moving, detaching, \
            dropping, deleting) with its table and row counts, updated after each batch on a terminal, and as \
            JSON log lines ("maintenance progress", at notice) otherwise: one when a step starts and one every \
            5 s while it works through batches.

            Tracing: the OTEL_* variables of serve (docs/operations.md, "Traces of the audit, maintenance and the \
            poller"); TRACEPARENT continues a caller's trace.
            """)

    @Flag(name: .customLong("dry-run"), help: "Print what would be done; change nothing.")
    var dryRun = false
    @Option(help: "Output format: text or json.")
    var format: String = "text"
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard ["text", "json"].contains(format) else { throw ValidationError("--format must be text or json") }
        do {
            _ = try MaintenanceSettings(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        _ = try CommonSettings.read(ProcessInfo.processInfo.environment)
        _ = try CommandTracing.settings(ProcessInfo.processInfo.environment)
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        // On a terminal the progress line says it all (the report follows on stdout); log lines
        // would break into it. Elsewhere the progress is the notice lines.
        JSONLogHandler.bootstrap(
            level: try CommonSettings.logLevel(environment) ?? (TerminalProgress.isTerminal ? .warning : .notice))
        // A signal ends the command at once, as it always did, but first leaves the embedded cluster.
        _ = SignalWaiter(signals: [SIGTERM, SIGINT], startupExit: .bySignal)
        // A reader that goes away (`| head`) must not end the command before it leaves the embedded
        // cluster: the write fails instead and the work finishes.
        signal(SIGPIPE, SIG_IGN)
        let settings = try MaintenanceSettings(environment: environment)
        let logger = Logger(label: "bidengine.maintenance")
        let tracing = try CommandTracing.start(environment, logger: logger)
        defer { tracing.finish(logger: logger) }
        let database = try self.database.open(environment: environment, common: try CommonSettings.read(environment))
        defer { database.embedded?.stop() }
        // A direct connection when there is one (the lock and lock_timeout as sessions have them);
        // otherwise through the pooler, which `Maintainer` knows how to lock through.
        let connectionString = database.directConnectionString ?? database.connectionString
        let session = try PostgresSession(connectionString: connectionString)
        defer { session.close() }
        var maintainer = Maintainer(settings: settings, logger: logger)
        maintainer.tracer = tracing.tracer
        if database.directConnectionString == nil, !database.pooler.keepsSessions {
            maintainer.transactionPooler = connectionString
        }
        Self.reportProgress(of: &maintainer, logger: logger)
        let report = try maintainer.run(session: session, dryRun: dryRun)
        if TerminalProgress.isTerminal { TerminalProgress.finish() }
        print(format == "json" ? report.json : report.text, terminator: "")
    }

    /// On a terminal, one line rewritten at each step and batch; otherwise a JSON log line
    /// (`notice`, "maintenance progress") when a step starts and every five seconds within one.
    static func reportProgress(of maintainer: inout Maintainer, logger: Logger) {
        if TerminalProgress.isTerminal {
            maintainer.progressInterval = .zero
            maintainer.progress = { TerminalProgress.update("maintain: \($0.text)") }
        } else {
            maintainer.progressInterval = .seconds(5)
            maintainer.progress = MaintenanceProgress.logging(to: logger)
        }
    }
}
