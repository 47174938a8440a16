/// How many bulk bids one loop's writer may start per second while single bids are arriving: a
/// token bucket in nano-bids (exact integer arithmetic, a fake clock in tests).
///
/// A bulk statement may start while the bucket is not in debt, and it takes its bids from the
/// bucket, possibly into debt: whole groups stay whole, and the average rate holds. The bucket
/// holds at most `capacity` bids, so a pause in bulk does not bank a burst larger than one short
/// bulk statement. On 2 cores bulk's parsing, statements and WAL take the CPU that single bids'
/// loop, backend and commit need; bounding bulk while single bids arrive is what keeps their
/// tail near their latency alone (docs/performance.md, "Isolation").
struct BulkBudget {
    private var bucket: NanoBidBalance

    /// `rate` bids per second, at most `capacity` bids banked (each at least 1).
    init(rate: Int, capacity: Int, now: ContinuousClock.Instant) {
        bucket = NanoBidBalance(bidsPerSecond: max(1, rate), capacityBids: max(1, capacity), now: now)
    }

    /// Nil when a bulk statement may start now (the bucket is not in debt); otherwise how long
    /// until it may.
    mutating func wait(now: ContinuousClock.Instant) -> Duration? {
        bucket.refill(now: now)
        guard bucket.nanoBids < 0 else { return nil }
        return .nanoseconds(bucket.nanoseconds(toReach: 0))
    }

    /// Takes a started statement's bids, into debt if need be.
    mutating func spend(_ bids: Int) {
        bucket.spend(bids)
    }

    /// Whole bids in the bucket as of the last refill (negative while in debt).
    var balance: Int { bucket.bids }
}
