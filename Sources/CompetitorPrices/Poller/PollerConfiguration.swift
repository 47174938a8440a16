public import BidCore
public import Postgres
import ServiceSettings

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

    /// Reads the variables through the settings table (`Settings+Poller.swift`); unset, empty or
    /// blank ones keep their defaults, malformed ones are errors that name them.
    public static func fromEnvironment(_ environment: [String: String]) throws(PollerConfigurationError)
        -> PollerConfiguration
    {
        let reader = SettingReader(environment: environment.filter { !$0.value.trimmedOfSpaces().isEmpty })
        var configuration = PollerConfiguration()
        let sources: String
        do {
            sources = try reader.value(Settings.competitorSources)
        } catch {
            throw PollerConfigurationError(error)
        }
        if !sources.isEmpty { configuration.sources = try CompetitorSource.list(parsing: sources) }
        do {
            configuration.interval = try reader.value(Settings.pollInterval)
            configuration.ratePerMinute = try reader.value(Settings.pollRatePerMinute)
            configuration.burst = try reader.value(Settings.pollRateBurst)
            configuration.pageSize = try reader.value(Settings.pollPageSize)
            configuration.maxPages = try reader.value(Settings.pollMaxPages)
            configuration.maxAttempts = try reader.value(Settings.pollMaxAttempts)
            configuration.backoffBase = try reader.value(Settings.pollBackoffBase)
            configuration.backoffMax = try reader.value(Settings.pollBackoffMax)
            configuration.maxRetryAfter = try reader.value(Settings.pollRetryAfterMax)
            configuration.connectTimeout = try reader.value(Settings.pollConnectTimeout)
            configuration.readTimeout = try reader.value(Settings.pollReadTimeout)
            configuration.requestTimeout = try reader.value(Settings.pollRequestTimeout)
            configuration.maxBodyBytes = try reader.value(Settings.pollMaxBodyBytes)
            configuration.maxPrice = try reader.value(Settings.pollMaxPrice)
        } catch {
            throw PollerConfigurationError(error)
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
