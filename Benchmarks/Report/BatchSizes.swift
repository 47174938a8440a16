/// How many bids went into each database statement: batches counted by size.
struct BatchSizes: Codable, Sendable {
    /// Where the figures come from (PostgreSQL, `/metrics`, or the writer itself).
    let source: String
    /// Batch size → number of batches. From `/metrics` the size is a bucket's upper bound
    /// (`Int.max` for +Inf), so the distribution is as coarse as the buckets.
    let countsBySize: [Int: Int]
    /// Bids per batch: exact (from the sum) even when the sizes are bucketed.
    let mean: Double

    init(source: String, countsBySize: [Int: Int], mean: Double? = nil) {
        self.source = source
        self.countsBySize = countsBySize
        let batches = countsBySize.values.reduce(0, +)
        let rows = countsBySize.reduce(0) { $0 + $1.key * $1.value }
        self.mean = mean ?? (batches == 0 ? 0 : Double(rows) / Double(batches))
    }

    var batches: Int { countsBySize.values.reduce(0, +) }

    /// The smallest size (or bucket bound) at or below which `fraction` of the batches fall.
    func percentile(_ fraction: Double) -> Int {
        let target = Double(batches) * fraction
        var seen = 0
        for size in countsBySize.keys.sorted() {
            seen += countsBySize[size]!
            if Double(seen) >= target { return size }
        }
        return 0
    }

    /// `mean 31.8, p50 32, p90 32, max 33 (2,315 batches)`.
    var summary: String {
        guard batches > 0 else { return "no batches" }
        let bound = { (size: Int) in size == Int.max ? "+Inf" : String(size) }
        let maximum = countsBySize.keys.max() ?? 0
        return "mean \(Format.decimal(mean, places: 1)), p50 \(bound(percentile(0.5))), p90 \(bound(percentile(0.9))), "
            + "p99 \(bound(percentile(0.99))), max \(bound(maximum)) (\(Format.integer(batches)) batches)"
    }
}
