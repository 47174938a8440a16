import ArgumentParser
import BidService
import CompetitorPrices
import Foundation
import Logging
import Observability

#if canImport(Glibc)
    import Glibc
#endif

/// `bidengine poll`: one run over the competitor sources, now, with a summary line per source
/// (the same numbers as its `poll_runs` row). The scheduler runs the same poll every POLL_INTERVAL.
struct PollCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "poll",
        abstract: "Poll competitor prices once and print one summary line per source.",
        discussion: """
            Sources: --source (repeatable) or COMPETITOR_SOURCES (comma-separated base URLs, http or https). \
            Pages are read from <base>/products?limit=&skip= until `total`. A price is stored in competitor_prices \
            when it changed, and once per UTC day otherwise; every run is recorded in poll_runs. See docs/poller.md.

            Environment: POLL_RATE_PER_MINUTE (per host, default 40), POLL_RATE_BURST (4), POLL_PAGE_SIZE (100), \
            POLL_MAX_PAGES (500), POLL_MAX_ATTEMPTS (4), POLL_BACKOFF_BASE (500ms), POLL_BACKOFF_MAX (30s), \
            POLL_RETRY_AFTER_MAX (120s), POLL_CONNECT_TIMEOUT (5s), POLL_READ_TIMEOUT (15s), POLL_REQUEST_TIMEOUT (60s), \
            POLL_MAX_BODY_BYTES (5242880), POLL_MAX_PRICE (1000000), DATABASE_URL, BIDENGINE_STATE_DIR, LOG_LEVEL.

            Output, one line per source on stdout (logs go to stderr): source=<url> run=<poll_runs.id> \
            status=ok|partial|failed|skipped|cancelled pages= seen= stored= rejected= errors= requests= [error="…"].

            Exit status 1 when a source failed (nothing could be stored), else 0. SIGINT/SIGTERM stop the poll \
            between requests; those runs are recorded as cancelled.

            Tracing: the OTEL_* variables of serve (docs/operations.md, "Traces of the audit, maintenance and the \
            poller"); TRACEPARENT continues a caller's trace.
            """)

    @Option(
        name: .customLong("source"),
        parsing: .unconditionalSingleValue,
        help: "A competitor base URL; repeat for several (overrides COMPETITOR_SOURCES).")
    var sources: [String] = []
    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        _ = try configuration(ProcessInfo.processInfo.environment)
    }

    /// The poller's settings and the database's, checked before anything starts.
    private func configuration(_ environment: [String: String]) throws -> (PollerConfiguration, CommonSettings) {
        let common = try CommonSettings.read(environment)
        var configuration: PollerConfiguration
        do {
            configuration = try PollerConfiguration.fromEnvironment(environment)
            if !sources.isEmpty {
                configuration.sources = try CompetitorSource.list(parsing: sources.joined(separator: ","))
            }
            guard !configuration.sources.isEmpty else { throw PollerConfigurationError.noSources }
        } catch {
            throw ValidationError("\(error)")
        }
        _ = try CommandTracing.settings(environment)
        return (configuration, common)
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        var (configuration, common) = try configuration(environment)
        configuration.progressOnTerminal = true
        configuration.pooler = common.pooler
        JSONLogHandler.bootstrap(level: try CommonSettings.logLevel(environment) ?? .info)
        let logger = Logger(label: "bidengine.poll")
        // A reader that goes away (`| head`) must not kill the process before it has stopped the
        // embedded cluster: the summary's write fails instead, and the poll ends as it would have.
        signal(SIGPIPE, SIG_IGN)
        // Installed before the database work: a signal while connecting or migrating exits at once.
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT]) { received in
            logger.notice("signal before the poll started; exiting", metadata: ["signal": "\(received)"])
        }
        for (key, value) in configuration.summary {
            logger.debug("config", metadata: ["key": "\(key)", "value": "\(value)"])
        }

        let tracing = try CommandTracing.start(environment, logger: logger)
        defer { tracing.finish(logger: logger) }
        let database = try self.database.open(environment: environment, common: common)
        defer { database.embedded?.stop() }

        // A signal ends the poll between requests; the waiting thread simply dies with the process.
        let cancellation = PollCancellation()
        signals.started()
        Thread.detachNewThread {
            let received = signals.wait()
            logger.notice("cancelling poll", metadata: ["signal": "\(received)"])
            cancellation.cancel()
        }

        let poller = CompetitorPricePoller(
            configuration: configuration, connectionString: database.connectionString, logger: logger,
            tracer: tracing.tracer)
        let summaries = poller.pollAll(cancellation: cancellation)
        TerminalProgress.finish()
        for summary in summaries { print(summary.line) }
        if summaries.contains(where: { $0.status == .failed }) { throw ExitCode(1) }
    }
}
