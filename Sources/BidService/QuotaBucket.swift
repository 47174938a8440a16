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
    private let state: Mutex<NanoBidBalance>

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
        state = Mutex(NanoBidBalance(bidsPerSecond: quota.rate, capacityBids: quota.burst, now: clock()))
    }

    /// Takes `bids` tokens if the bucket holds them all.
    public func take(_ bids: Int) -> Decision {
        let now = clock()
        return state.withLock { balance in
            balance.refill(now: now)
            let asked = Int64(bids) * 1_000_000_000
            if asked <= balance.nanoBids {
                balance.spend(bids)
                return .admitted(
                    remaining: balance.bids, fullIn: .nanoseconds(balance.nanoseconds(toReach: balance.capacity)))
            }
            let exceedsBurst = asked > balance.capacity
            return .refused(
                remaining: balance.bids,
                retryAfter: .nanoseconds(balance.nanoseconds(toReach: exceedsBurst ? balance.capacity : asked)),
                exceedsBurst: exceedsBurst)
        }
    }
}
