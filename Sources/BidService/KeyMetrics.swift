import Metrics

/// Per-key counters, labelled `key` with the key's name (never the secret): requests admitted by
/// the key check, bids stored, and requests and bids refused with 429. Built once for the
/// configured keys, so recording is a dictionary read and an atomic add.
final class KeyMetrics: Sendable {
    struct Counters: Sendable {
        let requests: Metrics.Counter
        let bidsStored: Metrics.Counter
        let throttledRequests: Metrics.Counter
        let throttledBids: Metrics.Counter
    }

    private let byName: [String: Counters]

    init(keys: APIKeys) {
        var byName: [String: Counters] = [:]
        for key in keys.keys {
            let dimensions = [("key", key.name)]
            byName[key.name] = Counters(
                requests: Metrics.Counter(label: "bidengine_api_requests_total", dimensions: dimensions),
                bidsStored: Metrics.Counter(label: "bidengine_api_bids_stored_total", dimensions: dimensions),
                throttledRequests: Metrics.Counter(label: "bidengine_api_throttled_total", dimensions: dimensions),
                throttledBids: Metrics.Counter(label: "bidengine_api_throttled_bids_total", dimensions: dimensions))
        }
        self.byName = byName
    }

    func admitted(_ key: APIKey) { byName[key.name]?.requests.increment() }

    func stored(_ count: Int, by key: APIKey) {
        if count > 0 { byName[key.name]?.bidsStored.increment(by: Int64(count)) }
    }

    func throttled(bids: Int, key: APIKey) {
        byName[key.name]?.throttledRequests.increment()
        byName[key.name]?.throttledBids.increment(by: Int64(bids))
    }
}
