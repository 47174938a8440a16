/// A token bucket's balance, kept in nano-bids in an `Int64`: a second refills `rate × 10⁹`, a
/// nanosecond `rate`, so the arithmetic is exact (no drift; tests assert exact values on a fake
/// clock). It holds at most `capacity` and may be spent into debt by callers that allow it.
/// The per-key quotas (`QuotaBucket`) and bulk's budget beside single bids (`BulkBudget`) both
/// keep their tokens in one.
struct NanoBidBalance {
    /// Bids per second: nano-bids per nanosecond.
    let rate: Int64
    /// The most nano-bids the bucket holds.
    let capacity: Int64
    /// The balance as of `updated` (negative while in debt).
    private(set) var nanoBids: Int64
    private var updated: ContinuousClock.Instant

    /// A full bucket of `capacityBids` bids refilling at `bidsPerSecond`.
    init(bidsPerSecond: Int, capacityBids: Int, now: ContinuousClock.Instant) {
        rate = Int64(bidsPerSecond)
        capacity = Int64(capacityBids) * 1_000_000_000
        nanoBids = capacity
        updated = now
    }

    /// Whole bids in the bucket (negative while in debt).
    var bids: Int { Int(nanoBids / 1_000_000_000) }

    /// Adds what accrued since the last refill, up to the capacity.
    mutating func refill(now: ContinuousClock.Instant) {
        let elapsed = updated.duration(to: now)
        guard elapsed > .zero else { return }
        updated = now
        // Whole nanoseconds; past the time to fill the bucket, it is full (and no product overflows).
        let toFull = nanoseconds(toReach: capacity)
        guard elapsed.components.seconds < toFull / 1_000_000_000 + 1 else {
            nanoBids = capacity
            return
        }
        let nanoseconds = elapsed.nanoseconds
        nanoBids = nanoseconds >= toFull ? capacity : nanoBids + nanoseconds * rate
    }

    /// Takes `bids`, into debt if the balance is short.
    mutating func spend(_ bids: Int) {
        nanoBids -= Int64(bids) * 1_000_000_000
    }

    /// Nanoseconds of refill until the balance reaches `target` nano-bids (0 when it has).
    func nanoseconds(toReach target: Int64) -> Int64 {
        let missing = target - nanoBids
        return missing <= 0 ? 0 : (missing + rate - 1) / rate
    }
}
