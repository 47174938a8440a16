public import Logging
public import Metrics
public import Scheduler
public import Telemetry

/// The competitor-price poll as a `Scheduler` job: every `POLL_INTERVAL` (aligned to the epoch,
/// so replicas agree), one run over every configured source.
///
/// A source that fails is an outcome, not a job failure: it is recorded in `poll_runs` and tried
/// again at the next interval. Throwing would make the scheduler retry sooner, which is the
/// opposite of polite to a server that is struggling. The job throws only when cancelled or when
/// no run could even be recorded (the database is unreachable). Missed intervals are not caught
/// up: the next one is at most an interval away.
public struct PollerJob: ScheduledJob {
    public let name = "competitor-prices"
    public let schedule: any JobSchedule
    public let poller: CompetitorPricePoller
    private let bridges = PollCancellationBridges()
    private let runs: [PollStatus: Counter]
    private let stored: Counter
    private let rejected: Counter

    public enum Failure: Error, CustomStringConvertible {
        case cancelled
        case databaseUnavailable(String)

        public var description: String {
            switch self {
            case .cancelled: return "cancelled"
            case .databaseUnavailable(let error): return "no poll could be recorded: \(error)"
            }
        }
    }

    public init(poller: CompetitorPricePoller, metricsFactory: (any MetricsFactory)? = nil)
        throws(PollerConfigurationError)
    {
        guard let schedule = IntervalSchedule(every: poller.configuration.interval) else {
            throw .invalidValue(
                key: "POLL_INTERVAL", value: "\(poller.configuration.interval)",
                expected: "at least one second for the scheduler")
        }
        self.schedule = schedule
        self.poller = poller
        let factory = metricsFactory ?? MetricsSystem.factory
        var runs: [PollStatus: Counter] = [:]
        for status in [PollStatus.ok, .partial, .failed, .skipped, .cancelled] {
            runs[status] = Counter(
                label: "bidengine_poller_runs_total", dimensions: [("status", status.rawValue)], factory: factory)
        }
        self.runs = runs
        stored = Counter(label: "bidengine_poller_items_stored_total", factory: factory)
        rejected = Counter(label: "bidengine_poller_items_rejected_total", factory: factory)
    }

    /// The jobs `bidengine schedule` should host for this environment: the poller when
    /// `COMPETITOR_SOURCES` names at least one source, none otherwise (logged). Throws on a
    /// malformed `COMPETITOR_SOURCES` or `POLL_*` variable, naming it.
    public static func scheduled(
        environment: [String: String], connectionString: String, logger: Logger = Logger(label: "bidengine.poller"),
        tracer: Tracer = .off
    ) throws(PollerConfigurationError) -> [any ScheduledJob] {
        let configuration = try PollerConfiguration.fromEnvironment(environment)
        guard !configuration.sources.isEmpty else {
            logger.notice("competitor price poller disabled: COMPETITOR_SOURCES is empty")
            return []
        }
        let poller = CompetitorPricePoller(
            configuration: configuration, connectionString: connectionString, logger: logger, tracer: tracer)
        return [try PollerJob(poller: poller)]
    }

    public func run(_ context: JobContext) throws -> Logger.Metadata {
        let summaries = poller.pollAll(cancellation: bridges.cancellation(for: context.cancellation))
        for summary in summaries {
            runs[summary.status]?.increment()
            stored.increment(by: summary.itemsStored)
            rejected.increment(by: summary.itemsRejected)
        }
        if context.cancellation.isCancelled { throw Failure.cancelled }
        if !summaries.isEmpty, summaries.allSatisfy({ $0.runID == nil }) {
            throw Failure.databaseUnavailable(summaries.first?.error ?? "unknown")
        }
        var counts: [String: Int] = [:]
        for summary in summaries { counts[summary.status.rawValue, default: 0] += 1 }
        return [
            "sources": "\(summaries.count)",
            "statuses": .dictionary(counts.mapValues { .string(String($0)) }),
            "items_stored": "\(summaries.reduce(0) { $0 + $1.itemsStored })",
            "items_rejected": "\(summaries.reduce(0) { $0 + $1.itemsRejected })",
            "runs": .array(summaries.compactMap { $0.runID.map { .string(String($0)) } }),
        ]
    }
}
