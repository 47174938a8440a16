public import BidCore
public import Postgres

/// Everything the competitor-price poller can be told, with defaults that are polite to the
/// remote side. `fromEnvironment` reads the `COMPETITOR_SOURCES` and `POLL_*` variables.
public struct PollerConfiguration: Sendable {
    /// Sent as `BidEngine/<version>`; bump with releases.
    public static let version = "0.1.0"

    public var sources: [CompetitorSource] = []
    /// Draw a progress line on stderr when it is a terminal (`bidengine poll`; never the scheduler).
    public var progressOnTerminal = false
    /// What is between the database connection and PostgreSQL: behind a transaction pooler a
    /// source's lock is held by a transaction of its own (`AdvisoryLock`).
    public var pooler: ConnectionPooler = .none
    /// Between the starts of two scheduled runs (`POLL_INTERVAL`).
    public var interval: Duration = .seconds(300)

    // MARK: Politeness
    /// Requests per minute per host, retries included (`POLL_RATE_PER_MINUTE`).
    public var ratePerMinute: Double = 40
    /// Requests a host may receive back to back after a quiet period (`POLL_RATE_BURST`).
    public var burst = 4
    /// Products asked for per request (`POLL_PAGE_SIZE`).
    public var pageSize = 100
    /// Requests one run makes to one source at most, whatever `total` claims (`POLL_MAX_PAGES`).
    public var maxPages = 500
    /// Attempts per page, the first included (`POLL_MAX_ATTEMPTS`).
    public var maxAttempts = 4
    /// Backoff before retry n is uniform in [0, min(backoffMax, backoffBase × 2^(n-1))] ("full jitter").
    public var backoffBase: Duration = .milliseconds(500)
    public var backoffMax: Duration = .seconds(30)
    /// A `Retry-After` longer than this ends the source's run instead of stalling it (`POLL_RETRY_AFTER_MAX`).
    public var maxRetryAfter: Duration = .seconds(120)
    /// Consecutive unusable pages after which a source's run stops.
    public var maxConsecutivePageFailures = 3

    // MARK: Timeouts and limits
    /// Until the response headers arrive: DNS, TCP, TLS and the server starting to answer (`POLL_CONNECT_TIMEOUT`).
    public var connectTimeout: Duration = .seconds(5)
    /// Longest silence while the body arrives (`POLL_READ_TIMEOUT`).
    public var readTimeout: Duration = .seconds(15)
    /// Whole request, however steadily a slow server drips (`POLL_REQUEST_TIMEOUT`).
    public var requestTimeout: Duration = .seconds(60)
    /// Largest response body, after decompression (`POLL_MAX_BODY_BYTES`; default 5 MiB).
    public var maxBodyBytes = 5 * 1024 * 1024
    /// Prices above this are rejected as absurd (`POLL_MAX_PRICE`).
    public var maxPrice = ProductsPageParser.defaultMaxPrice

    public var userAgent = "BidEngine/\(PollerConfiguration.version) (+competitor-price-poller)"

    public init() {}

    var parser: ProductsPageParser { ProductsPageParser(maxPrice: maxPrice) }

    /// Reads the variables; unset or empty ones keep their defaults, malformed ones are errors.
    public static func fromEnvironment(_ environment: [String: String]) throws(PollerConfigurationError)
        -> PollerConfiguration
    {
        var configuration = PollerConfiguration()
        func value(_ key: String) -> String? {
            guard let text = environment[key], !text.trimmedOfSpaces().isEmpty else { return nil }
            return text
        }
        func duration(_ key: String, _ target: inout Duration) throws(PollerConfigurationError) {
            guard let text = value(key) else { return }
            guard let parsed = DurationText.parse(text) else {
                throw .invalidValue(key: key, value: text, expected: DurationText.expectation)
            }
            target = parsed
        }
        func integer(_ key: String, _ target: inout Int, range: ClosedRange<Int>) throws(PollerConfigurationError) {
            guard let text = value(key) else { return }
            guard let parsed = Int(text.trimmedOfSpaces()), range.contains(parsed) else {
                throw .invalidValue(
                    key: key, value: text, expected: "an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            target = parsed
        }

        if let text = value("COMPETITOR_SOURCES") { configuration.sources = try CompetitorSource.list(parsing: text) }
        try duration("POLL_INTERVAL", &configuration.interval)
        // The scheduler counts whole seconds; refused here, with every other setting, before anything starts.
        if configuration.interval < .seconds(1), let text = value("POLL_INTERVAL") {
            throw .invalidValue(
                key: "POLL_INTERVAL", value: text, expected: "a duration of at least 1s such as 300, 5m or 1h")
        }
        if let text = value("POLL_RATE_PER_MINUTE") {
            guard let rate = Double(text.trimmedOfSpaces()), rate.isFinite, rate > 0, rate <= 60_000 else {
                throw .invalidValue(
                    key: "POLL_RATE_PER_MINUTE", value: text, expected: "a number of requests per minute above 0")
            }
            configuration.ratePerMinute = rate
        }
        try integer("POLL_RATE_BURST", &configuration.burst, range: 1...1000)
        try integer("POLL_PAGE_SIZE", &configuration.pageSize, range: 1...1000)
        try integer("POLL_MAX_PAGES", &configuration.maxPages, range: 1...100_000)
        try integer("POLL_MAX_ATTEMPTS", &configuration.maxAttempts, range: 1...20)
        try duration("POLL_BACKOFF_BASE", &configuration.backoffBase)
        try duration("POLL_BACKOFF_MAX", &configuration.backoffMax)
        try duration("POLL_RETRY_AFTER_MAX", &configuration.maxRetryAfter)
        try duration("POLL_CONNECT_TIMEOUT", &configuration.connectTimeout)
        try duration("POLL_READ_TIMEOUT", &configuration.readTimeout)
        try duration("POLL_REQUEST_TIMEOUT", &configuration.requestTimeout)
        try integer("POLL_MAX_BODY_BYTES", &configuration.maxBodyBytes, range: 1024...(1 << 30))
        if let text = value("POLL_MAX_PRICE") {
            guard let price = try? FixedDecimal(parsing: text), !price.isNegative, !price.isZero else {
                throw .invalidValue(key: "POLL_MAX_PRICE", value: text, expected: "a positive decimal number")
            }
            configuration.maxPrice = price
        }
        return configuration
    }

    /// The settings as `key=value` pairs for the startup log.
    public var summary: [(String, String)] {
        [
            ("sources", sources.map(\.name).joined(separator: ",")), ("interval", interval.description),
            ("rate_per_minute", String(ratePerMinute)), ("burst", String(burst)), ("page_size", String(pageSize)),
            ("max_pages", String(maxPages)), ("max_attempts", String(maxAttempts)),
            ("backoff", "\(backoffBase)…\(backoffMax)"), ("retry_after_max", maxRetryAfter.description),
            ("connect_timeout", connectTimeout.description), ("read_timeout", readTimeout.description),
            ("request_timeout", requestTimeout.description), ("max_body_bytes", String(maxBodyBytes)),
            ("max_price", maxPrice.description), ("user_agent", userAgent),
        ]
    }
}
