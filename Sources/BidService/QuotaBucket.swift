import Synchronization

/// One key's token bucket, shared by every event loop of the process: `quota.burst` bids at once
/// after a quiet period, then `quota.rate` bids per second on average.
///
/// The balance is kept in nano-bids in an `Int64` (a second refills `rate × 10⁹`, a nanosecond
/// `rate`), so the arithmetic is exact: no drift, and tests can assert exact values on a fake
/// clock. `take` is all or nothing: a request for more bids than the bucket holds takes none.
/// The lock is held for a few integer operations and never across anything that waits, so the
/// loops that share a key contend for nanoseconds (docs/performance.md, "Isolation").
public final class QuotaBucket: Sendable {
    public let quota: Quota
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let state: Mutex<(nanoBids: Int64, updated: ContinuousClock.Instant)>
    private let capacity: Int64

    /// What `take` decided.
    public enum Decision: Sendable, Equatable {
        /// Taken. `remaining`: whole bids left; `fullIn`: until the bucket is full again.
        case admitted(remaining: Int, fullIn: Duration)
        /// Nothing taken. `retryAfter`: until the bids asked for will have accrued (when they are
        /// more than the burst, until the bucket is full: the request can never pass whole).
        case refused(remaining: Int, retryAfter: Duration, exceedsBurst: Bool)
    }

    public init(quota: Quota, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.quota = quota
        self.clock = clock
        capacity = Int64(quota.burst) * 1_000_000_000
        state = Mutex((capacity, clock()))
    }

    /// Takes `bids` tokens if the bucket holds them all.
    public func take(_ bids: Int) -> Decision {
        let now = clock()
        let rate = Int64(quota.rate)
        let capacity = self.capacity
        return state.withLock { state in
            Self.refill(&state, now: now, rate: rate, capacity: capacity)
            let asked = Int64(bids) * 1_000_000_000
            if asked <= state.nanoBids {
                state.nanoBids -= asked
                return .admitted(
                    remaining: Int(state.nanoBids / 1_000_000_000),
                    fullIn: .nanoseconds(Self.ceilingDivide(capacity - state.nanoBids, rate)))
            }
            let exceedsBurst = asked > capacity
            let missing = (exceedsBurst ? capacity : asked) - state.nanoBids
            return .refused(
                remaining: Int(state.nanoBids / 1_000_000_000),
                retryAfter: .nanoseconds(Self.ceilingDivide(missing, rate)), exceedsBurst: exceedsBurst)
        }
    }

    private static func refill(
        _ state: inout (nanoBids: Int64, updated: ContinuousClock.Instant), now: ContinuousClock.Instant, rate: Int64,
        capacity: Int64
    ) {
        let elapsed = state.updated.duration(to: now)
        guard elapsed > .zero else { return }
        state.updated = now
        // Whole nanoseconds; past the time to fill the bucket, it is full (and no product overflows).
        let toFull = ceilingDivide(capacity - state.nanoBids, rate)
        let components = elapsed.components
        guard components.seconds < toFull / 1_000_000_000 + 1 else {
            state.nanoBids = capacity
            return
        }
        let nanoseconds = components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
        state.nanoBids = nanoseconds >= toFull ? capacity : state.nanoBids + nanoseconds * rate
    }

    private static func ceilingDivide(_ numerator: Int64, _ denominator: Int64) -> Int64 {
        numerator <= 0 ? 0 : (numerator + denominator - 1) / denominator
    }
}
