import Foundation
import Logging

/// Fetches one URL the way the remote side deserves: every attempt waits for its host's token,
/// transient failures are retried with full-jitter backoff up to `maxAttempts`, and a
/// `Retry-After` (seconds or HTTP-date) is obeyed for the whole host, or ends the attempt when it
/// asks for longer than `maxRetryAfter`.
struct PoliteFetcher: Sendable {
    let transport: any HTTPFetching
    let limits: HostRateLimits
    let policy: RetryPolicy
    let userAgent: String
    let logger: Logger
    /// Uniform in [0, 1); injectable so that tests can pin the jitter.
    var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    /// The body of a 2xx response. `onAttempt` runs just before each request goes out, with how
    /// long that request waited for its host's rate limit; `onResponse` with the status of each
    /// response that arrived.
    func fetch(
        _ url: URL, host: String, cancellation: PollCancellation, onResponse: (_ status: Int) -> Void = { _ in },
        onAttempt: (_ rateLimitWait: Duration) -> Void
    ) -> Result<[UInt8], PageFetchError> {
        let bucket = limits.bucket(for: host)
        let headers = [("User-Agent", userAgent), ("Accept", "application/json")]
        var lastFailure = PageFetchError.cancelled
        for attempt in 1...policy.maxAttempts {
            let wait = bucket.reserve()
            if wait > .zero, !cancellation.sleep(for: wait) { return .failure(.cancelled) }
            if cancellation.isCancelled { return .failure(.cancelled) }
            onAttempt(max(wait, .zero))
            var backoff: Duration
            let result = transport.get(url, headers: headers, cancellation: cancellation)
            if case .success(let response) = result { onResponse(response.status) }
            switch result {
            case .success(let response) where (200..<300).contains(response.status):
                return .success(response.body)
            case .success(let response) where (300..<400).contains(response.status):
                return .failure(.redirect(response.status, location: response.header("Location")))
            case .success(let response) where RetryPolicy.isRetryable(status: response.status):
                lastFailure = .status(response.status, attempts: attempt)
                backoff = policy.backoff(retry: attempt, unit: random())
                if let text = response.header("Retry-After"), let delay = RetryAfter.delay(text) {
                    guard delay <= policy.maxRetryAfter else {
                        return .failure(.retryAfterTooLong(delay, limit: policy.maxRetryAfter))
                    }
                    // The bucket makes the whole host wait; no extra backoff on top of the server's own figure.
                    bucket.holdOff(for: delay)
                    backoff = .zero
                }
            case .success(let response):
                return .failure(.status(response.status, attempts: attempt))
            case .failure(.cancelled):
                return .failure(.cancelled)
            case .failure(let failure) where failure.isRetryable:
                lastFailure = .transport(failure, attempts: attempt)
                backoff = policy.backoff(retry: attempt, unit: random())
            case .failure(let failure):
                return .failure(.transport(failure, attempts: attempt))
            }
            guard attempt < policy.maxAttempts else { break }
            logger.warning(
                "retrying",
                metadata: [
                    "url": "\(url.absoluteString)", "attempt": "\(attempt)", "error": "\(lastFailure)",
                    "backoff": "\(backoff)",
                ])
            if backoff > .zero, !cancellation.sleep(for: backoff) { return .failure(.cancelled) }
        }
        return .failure(lastFailure)
    }
}
