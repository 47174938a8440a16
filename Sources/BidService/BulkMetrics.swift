import Metrics

/// What `POST /api/bids/batch` adds to `/metrics`: requests whose envelope was accepted, items per
/// request, and items stored and rejected (the access log carries the same counts per request).
final class BulkMetrics: Sendable {
    private let requests = Metrics.Counter(label: "bidengine_bulk_requests_total")
    private let itemsPerRequest = Metrics.Recorder(label: "bidengine_bulk_items_per_request", aggregate: true)
    private let itemsStored = Metrics.Counter(label: "bidengine_bulk_items_stored_total")
    private let itemsRejected = Metrics.Counter(label: "bidengine_bulk_items_rejected_total")

    /// A request whose envelope was accepted: `items` judged, `rejected` of them refused.
    func received(items: Int, rejected: Int) {
        requests.increment()
        itemsPerRequest.record(items)
        if rejected > 0 { itemsRejected.increment(by: Int64(rejected)) }
    }

    /// Items committed for a request (replays store nothing and are not counted).
    func stored(_ count: Int) {
        itemsStored.increment(by: Int64(count))
    }
}
