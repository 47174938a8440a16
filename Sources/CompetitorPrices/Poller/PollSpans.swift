import Telemetry

/// The names of a poll's spans and attributes, written once for the poller, the docs and the
/// tests.
///
/// One trace per poll (`bidengine poll`, or one run of the scheduler's job): the root `poll`
/// (sources, items stored, sources that failed), a child per source (the competitor, its
/// `poll_runs` id and counters, its status; failed when nothing could be stored), and below it
/// a client span per page (page number, skip, host and URL, HTTP status of the last response,
/// requests including retries, the rate limit's wait, items, stored, rejected, the outcome).
public enum PollSpans {
    public static let root = "poll"
    public static let source = "poll source"
    public static let page = "poll page"

    public static let sources = "bidengine.poll.sources"
    public static let failedSources = "bidengine.poll.failed_sources"
    public static let competitor = "bidengine.poll.competitor"
    public static let runID = "bidengine.poll.run_id"
    public static let status = "bidengine.poll.status"
    public static let pages = "bidengine.poll.pages"
    public static let pageNumber = "bidengine.poll.page"
    public static let skip = "bidengine.poll.skip"
    public static let requests = "bidengine.poll.requests"
    public static let rateLimitWaitMilliseconds = "bidengine.poll.rate_limit_wait_ms"
    public static let items = "bidengine.poll.items"
    public static let itemsStored = "bidengine.poll.items_stored"
    public static let stored = "bidengine.poll.stored"
    public static let rejected = "bidengine.poll.rejected"
    public static let errors = "bidengine.poll.errors"
    public static let outcome = "bidengine.outcome"

    /// How one page ended.
    public enum PageOutcome: String, Sendable {
        case stored
        /// No usable answer after every attempt allowed (`http.response.status_code` has the last status).
        case fetchFailed = "fetch_failed"
        /// The body or its place in the listing was wrong.
        case rejected
        case databaseFailed = "database_failed"
        case cancelled
    }

    /// A source's counters, as its `poll_runs` row has them.
    static func describe(_ summary: PollRunSummary, on span: inout TraceSpan) {
        guard span.isRecording else { return }
        if let id = summary.runID { span.set(Self.runID, id) }
        span.set(Self.status, summary.status.rawValue)
        span.set(Self.pages, summary.pages)
        span.set(Self.requests, summary.requests)
        span.set(Self.items, summary.itemsSeen)
        span.set(Self.stored, summary.itemsStored)
        span.set(Self.rejected, summary.itemsRejected)
        span.set(Self.errors, summary.errors)
    }
}
