/// When to try a page again, and after how long: exponential backoff with full jitter (a uniform
/// delay in [0, min(cap, base × 2^(retry-1))], so that many clients retrying do not synchronise),
/// replaced by the server's `Retry-After` when it sent one.
struct RetryPolicy: Sendable {
    let maxAttempts: Int
    let base: Duration
    let cap: Duration
    let maxRetryAfter: Duration

    /// The longest backoff before retry number `retry` (1 = the first retry).
    func ceiling(retry: Int) -> Duration {
        let factor = Double(1 << min(max(retry - 1, 0), 30))
        return .microseconds(Int64(min(cap.timeInterval, base.timeInterval * factor) * 1e6))
    }

    /// A full-jitter backoff: `unit` is a uniform random number in [0, 1).
    func backoff(retry: Int, unit: Double) -> Duration {
        .microseconds(Int64(ceiling(retry: retry).timeInterval * 1e6 * min(max(unit, 0), 1)))
    }

    /// Network failures, timeouts, 5xx and 429 are transient; other statuses are answers.
    static func isRetryable(status: Int) -> Bool {
        status == 429 || (500...599).contains(status)
    }
}
