/// The percentiles the table shows, in milliseconds.
struct LatencySummary: Codable, Sendable {
    let count: Int
    let p50: Double
    let p90: Double
    let p99: Double
    let p999: Double
    let max: Double
    let mean: Double

    init(_ result: LoadResult) {
        count = Int(result.latency.totalCount)
        p50 = result.latencyMilliseconds(percentile: 50)
        p90 = result.latencyMilliseconds(percentile: 90)
        p99 = result.latencyMilliseconds(percentile: 99)
        p999 = result.latencyMilliseconds(percentile: 99.9)
        max = result.maxLatencyMilliseconds
        mean = count == 0 ? 0 : result.latency.mean / 1000
    }
}
