import Synchronization

/// A token bucket: `capacity` requests at once after a quiet period, then `ratePerSecond` on
/// average, however many threads share it.
///
/// Tokens are reserved, not polled for: `reserve()` takes a token now, letting the balance go
/// negative, and answers how long the caller must wait before using it. Waiting callers are thus
/// served in the order they asked, and the sent requests never exceed `capacity + rate × t` in
/// any window of length t (a reservation abandoned by cancellation only makes that stricter).
final class TokenBucket: Sendable {
    let ratePerSecond: Double
    let capacity: Double
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let state: Mutex<(tokens: Double, updated: ContinuousClock.Instant)>

    init(ratePerMinute: Double, capacity: Int, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        precondition(ratePerMinute > 0 && capacity >= 1)
        self.ratePerSecond = ratePerMinute / 60
        self.capacity = Double(capacity)
        self.clock = clock
        self.state = Mutex((Double(capacity), clock()))
    }

    /// Takes a token; returns how long to wait before sending (zero when one was available).
    func reserve() -> Duration {
        let now = clock()
        return state.withLock { state in
            refill(&state, now: now)
            state.tokens -= 1
            guard state.tokens < 0 else { return .zero }
            // Round up to the microsecond so the token has surely accrued when the wait ends.
            return .microseconds(Int64((-state.tokens / ratePerSecond * 1e6).rounded(.up)))
        }
    }

    /// Empties the bucket and adds `duration` of debt: after a host said `Retry-After`, nothing
    /// (from any source sharing the host) is sent to it before that time.
    func holdOff(for duration: Duration) {
        let now = clock()
        state.withLock { state in
            refill(&state, now: now)
            state.tokens = min(state.tokens, 0) - duration.timeInterval * ratePerSecond
        }
    }

    private func refill(_ state: inout (tokens: Double, updated: ContinuousClock.Instant), now: ContinuousClock.Instant)
    {
        let elapsed = state.updated.duration(to: now).timeInterval
        guard elapsed > 0 else { return }
        state.tokens = min(capacity, state.tokens + elapsed * ratePerSecond)
        state.updated = now
    }
}
