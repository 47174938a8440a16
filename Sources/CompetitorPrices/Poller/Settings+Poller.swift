public import BidCore
public import ServiceSettings

/// The competitor-price poller's rows of the settings table: `COMPETITOR_SOURCES` and `POLL_*`.
/// Defaults are `PollerConfiguration`'s, polite to the remote side.
extension Settings {
    /// Comma-separated base URLs, read as text: `CompetitorSource.list` says which entry is wrong and why.
    public static let competitorSources = Setting.text(
        "COMPETITOR_SOURCES", accepts: "comma-separated http(s) base URLs", default: "")
    /// The scheduler counts whole seconds.
    public static let pollInterval = Setting<Duration>(
        "POLL_INTERVAL", accepts: "a duration of at least 1s such as 300, 5m or 1h", default: .seconds(300)
    ) { DurationText.parse($0).flatMap { $0 >= .seconds(1) ? $0 : nil } }
    public static let pollRatePerMinute = Setting<Double>(
        "POLL_RATE_PER_MINUTE", accepts: "a number of requests per minute above 0", default: 40
    ) { text in
        guard let rate = Double(text.trimmedOfSpaces()), rate.isFinite, rate > 0, rate <= 60_000 else { return nil }
        return rate
    }
    public static let pollRateBurst = pollInteger("POLL_RATE_BURST", 1...1000, default: 4)
    public static let pollPageSize = pollInteger("POLL_PAGE_SIZE", 1...1000, default: 100)
    public static let pollMaxPages = pollInteger("POLL_MAX_PAGES", 1...100_000, default: 500)
    public static let pollMaxAttempts = pollInteger("POLL_MAX_ATTEMPTS", 1...20, default: 4)
    public static let pollBackoffBase = pollDuration("POLL_BACKOFF_BASE", default: .milliseconds(500))
    public static let pollBackoffMax = pollDuration("POLL_BACKOFF_MAX", default: .seconds(30))
    public static let pollRetryAfterMax = pollDuration("POLL_RETRY_AFTER_MAX", default: .seconds(120))
    public static let pollConnectTimeout = pollDuration("POLL_CONNECT_TIMEOUT", default: .seconds(5))
    public static let pollReadTimeout = pollDuration("POLL_READ_TIMEOUT", default: .seconds(15))
    public static let pollRequestTimeout = pollDuration("POLL_REQUEST_TIMEOUT", default: .seconds(60))
    public static let pollMaxBodyBytes = pollInteger("POLL_MAX_BODY_BYTES", 1024...(1 << 30), default: 5 * 1024 * 1024)
    public static let pollMaxPrice = Setting<FixedDecimal>(
        "POLL_MAX_PRICE", accepts: "a positive decimal number", default: ProductsPageParser.defaultMaxPrice
    ) { text in
        guard let price = try? FixedDecimal(parsing: text), !price.isNegative, !price.isZero else { return nil }
        return price
    }

    private static func pollInteger(_ name: String, _ range: ClosedRange<Int>, default defaultValue: Int) -> Setting<
        Int
    > {
        Setting(name, accepts: "an integer from \(range.lowerBound) to \(range.upperBound)", default: defaultValue) {
            Int($0.trimmedOfSpaces()).flatMap { range.contains($0) ? $0 : nil }
        }
    }

    private static func pollDuration(_ name: String, default defaultValue: Duration) -> Setting<Duration> {
        Setting(name, accepts: DurationText.expectation, default: defaultValue) { DurationText.parse($0) }
    }
}
