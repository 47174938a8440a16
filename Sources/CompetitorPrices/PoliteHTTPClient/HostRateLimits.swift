import Synchronization

/// One `TokenBucket` per host, created on first use and shared by every source and every request
/// (retries included) that goes to that host, for as long as this object lives.
final class HostRateLimits: Sendable {
    private let ratePerMinute: Double
    private let burst: Int
    private let buckets = Mutex<[String: TokenBucket]>([:])

    init(ratePerMinute: Double, burst: Int) {
        self.ratePerMinute = ratePerMinute
        self.burst = burst
    }

    func bucket(for host: String) -> TokenBucket {
        buckets.withLock { buckets in
            if let bucket = buckets[host] { return bucket }
            let bucket = TokenBucket(ratePerMinute: ratePerMinute, capacity: burst)
            buckets[host] = bucket
            return bucket
        }
    }
}
