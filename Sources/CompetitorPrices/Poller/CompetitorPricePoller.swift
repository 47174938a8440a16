import Foundation
public import Logging
import Synchronization

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

    public convenience init(configuration: PollerConfiguration, connectionString: String, logger: Logger) {
        let transport = URLSessionFetcher(
            connectTimeout: configuration.connectTimeout, readTimeout: configuration.readTimeout,
            requestTimeout: configuration.requestTimeout, maxBodyBytes: configuration.maxBodyBytes)
        self.init(
            configuration: configuration, connectionString: connectionString, logger: logger, transport: transport)
    }

    init(
        configuration: PollerConfiguration, connectionString: String, logger: Logger, transport: any HTTPFetching,
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
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
        let results = Mutex<[Int: PollRunSummary]>([:])
        let group = DispatchGroup()
        for (index, source) in sources.enumerated() {
            group.enter()
            let thread = Thread { [self] in
                let summary = self.poll(source, cancellation: cancellation)
                results.withLock { $0[index] = summary }
                group.leave()
            }
            thread.name = "poller \(source.host)"
            thread.start()
        }
        group.wait()
        return results.withLock { results in sources.indices.map { results[$0]! } }
    }

    /// Polls one source on the calling thread.
    public func poll(_ source: CompetitorSource, cancellation: PollCancellation = PollCancellation()) -> PollRunSummary
    {
        SourcePoll(
            source: source, configuration: configuration, fetcher: fetcher, connectionString: connectionString,
            logger: logger, cancellation: cancellation
        ).run()
    }
}
