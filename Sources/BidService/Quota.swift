/// A key's quota: `rate` bids per second on average, `burst` bids at once after a quiet period.
/// Per process: N replicas behind a balancer admit up to N times as much (docs/scaling.md).
public struct Quota: Sendable, Equatable {
    public let rate: Int
    public let burst: Int

    /// The most either may be: keeps the bucket's arithmetic (nano-bids in an `Int64`) exact.
    public static let maximum = 1_000_000_000

    public init(rate: Int, burst: Int) {
        precondition((1...Self.maximum).contains(rate) && (1...Self.maximum).contains(burst))
        self.rate = rate
        self.burst = burst
    }
}
