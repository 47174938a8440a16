/// The bid batch-size histogram from the server's `GET /metrics` (Prometheus text format), when
/// the server has that route.
struct MetricsScrape {
    static let histogramName = "bidengine_bid_batch_size"

    /// Cumulative bucket counts by upper bound (+Inf as `Int.max`).
    let cumulativeBuckets: [Int: Double]
    let sum: Double
    let count: Double

    /// nil when the route is missing or has no batch-size histogram.
    static func fetch(host: String, port: Int) -> MetricsScrape? {
        guard let response = try? BlockingHTTPClient.request(host: host, port: port, path: "/metrics"),
            response.status == 200
        else { return nil }
        return parse(response.text)
    }

    static func parse(_ text: String) -> MetricsScrape? {
        var buckets: [Int: Double] = [:]
        var sum: Double?
        var count: Double?
        for line in text.split(separator: "\n") where line.hasPrefix(histogramName) {
            let parts = line.split(separator: " ")
            guard parts.count >= 2, let value = Double(parts[parts.count - 1]) else { continue }
            let name = parts[0]
            if name.hasPrefix(histogramName + "_bucket") {
                guard let start = name.range(of: "le=\""), let end = name[start.upperBound...].firstIndex(of: "\"")
                else { continue }
                let bound = name[start.upperBound..<end]
                if bound == "+Inf" {
                    buckets[Int.max] = value
                } else if let number = Double(bound) {
                    buckets[Int(number.rounded())] = value
                }
            } else if name.hasPrefix(histogramName + "_sum") {
                sum = value
            } else if name.hasPrefix(histogramName + "_count") {
                count = value
            }
        }
        guard let sum, let count, !buckets.isEmpty else { return nil }
        return MetricsScrape(cumulativeBuckets: buckets, sum: sum, count: count)
    }

    /// Batches recorded between `earlier` and this scrape, per bucket.
    func since(_ earlier: MetricsScrape?) -> BatchSizes {
        let bounds = cumulativeBuckets.keys.sorted()
        var counts: [Int: Int] = [:]
        var previous = 0.0
        for bound in bounds {
            let cumulative = cumulativeBuckets[bound]! - (earlier?.cumulativeBuckets[bound] ?? 0)
            let inBucket = Int((cumulative - previous).rounded())
            if inBucket > 0 { counts[bound] = inBucket }
            previous = cumulative
        }
        let batches = count - (earlier?.count ?? 0)
        let rows = sum - (earlier?.sum ?? 0)
        return BatchSizes(
            source: "GET /metrics (\(Self.histogramName), bucket upper bounds)", countsBySize: counts,
            mean: batches > 0 ? rows / batches : 0)
    }
}
