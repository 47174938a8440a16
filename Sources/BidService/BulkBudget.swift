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
    /// Bids per second on this loop.
    let rate: Int
    /// The most bids the bucket holds.
    let capacity: Int
    private var nanoBids: Int64
    private var updated: ContinuousClock.Instant

    init(rate: Int, capacity: Int, now: ContinuousClock.Instant) {
        self.rate = max(1, rate)
        self.capacity = max(1, capacity)
        nanoBids = Int64(self.capacity) * 1_000_000_000
        updated = now
    }

    /// Nil when a bulk statement may start now (the bucket is not in debt); otherwise how long
    /// until it may.
    mutating func wait(now: ContinuousClock.Instant) -> Duration? {
        refill(now: now)
        guard nanoBids < 0 else { return nil }
        return .nanoseconds((-nanoBids + Int64(rate) - 1) / Int64(rate))
    }

    /// Takes a started statement's bids, into debt if need be.
    mutating func spend(_ bids: Int) {
        nanoBids -= Int64(bids) * 1_000_000_000
    }

    /// Whole bids in the bucket as of the last refill (negative while in debt).
    var balance: Int { Int(nanoBids / 1_000_000_000) }

    private mutating func refill(now: ContinuousClock.Instant) {
        guard now > updated else { return }
        let (seconds, attoseconds) = updated.duration(to: now).components
        let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
        let missing = Int64(capacity) * 1_000_000_000 - nanoBids
        // Multiplied only while it cannot overflow: a long pause simply fills the bucket.
        nanoBids += nanoseconds > missing / Int64(rate) ? missing : nanoseconds * Int64(rate)
        updated = now
    }
}
