/// One point of a latency-by-percentile curve.
struct LatencyPoint: Codable, Sendable {
    let percentile: Double
    let milliseconds: Double
}
