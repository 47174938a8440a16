import Foundation
public import Logging
import Synchronization
public import Telemetry

/// Polls competitors' product listings into `competitor_prices`: every source on a thread of its
/// own (one slow or failing source never delays or stops another), all requests to one host
/// sharing that host's token bucket.
///
/// Blocking by design: call it from a scheduler thread or the command line, never from an event
/// loop. Keep one instance for the life of the process, so that the rate limit carries over
/// from one run to the next.
public final class CompetitorPricePoller: Sendable {
    public let configuration: PollerConfiguration
    private let connectionString: String
    private let logger: Logger
    private let fetcher: PoliteFetcher
    /// Where each run's trace goes: a root span `poll`, a child per source, a grandchild per
    /// page (`PollSpans`).
    public let tracer: Tracer

    public convenience init(
        configuration: PollerConfiguration, connectionString: String, logger: Logger, tracer: Tracer = .off
    ) {
        let transport = URLSessionFetcher(
            connectTimeout: configuration.connectTimeout, readTimeout: configuration.readTimeout,
            requestTimeout: configuration.requestTimeout, maxBodyBytes: configuration.maxBodyBytes)
        self.init(
            configuration: configuration, connectionString: connectionString, logger: logger, transport: transport,
            tracer: tracer)
    }

    init(
        configuration: PollerConfiguration, connectionString: String, logger: Logger, transport: any HTTPFetching,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, tracer: Tracer = .off
    ) {
        self.tracer = tracer
        self.configuration = configuration
        self.connectionString = connectionString
        self.logger = logger
        let policy = RetryPolicy(
            maxAttempts: configuration.maxAttempts, base: configuration.backoffBase, cap: configuration.backoffMax,
            maxRetryAfter: configuration.maxRetryAfter)
        fetcher = PoliteFetcher(
            transport: transport,
            limits: HostRateLimits(ratePerMinute: configuration.ratePerMinute, burst: configuration.burst),
            policy: policy, userAgent: configuration.userAgent, logger: logger, random: random)
    }

    /// Polls `sources` (default: the configured ones) concurrently; returns their summaries in
    /// the order given, once every one has finished.
    public func pollAll(_ sources: [CompetitorSource]? = nil, cancellation: PollCancellation = PollCancellation())
        -> [PollRunSummary]
    {
        let sources = sources ?? configuration.sources
        var trace = tracer.startTrace(PollSpans.root, attributes: [(PollSpans.sources, .int(Int64(sources.count)))])
        let parent = trace
        let results = Mutex<[Int: PollRunSummary]>([:])
        let group = DispatchGroup()
        for (index, source) in sources.enumerated() {
            group.enter()
            let thread = Thread { [self] in
                let summary = self.poll(source, cancellation: cancellation, trace: parent)
                results.withLock { $0[index] = summary }
                group.leave()
            }
            thread.name = "poller \(source.host)"
            thread.start()
        }
        group.wait()
        let summaries = results.withLock { results in sources.indices.map { results[$0]! } }
        trace.set(PollSpans.itemsStored, summaries.reduce(0) { $0 + $1.itemsStored })
        trace.set(PollSpans.failedSources, summaries.filter { $0.status == .failed }.count)
        trace.end()
        return summaries
    }

    /// Polls one source on the calling thread; its span is a child of `trace`, or without one
    /// the root of a trace of its own.
    public func poll(
        _ source: CompetitorSource, cancellation: PollCancellation = PollCancellation(), trace: TraceSpan? = nil
    ) -> PollRunSummary {
        SourcePoll(
            source: source, configuration: configuration, fetcher: fetcher, connectionString: connectionString,
            logger: logger, cancellation: cancellation,
            trace: trace.map { $0.child(PollSpans.source) } ?? tracer.startTrace(PollSpans.source)
        ).run()
    }
}
