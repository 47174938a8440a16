import HTTPServer
import Metrics
import ServiceSupport
import Synchronization

/// The service's metrics, exported at `GET /metrics` in Prometheus text format.
///
/// Handles are created once per label set and cached (swift-metrics handle creation takes the
/// factory's lock; recording on a cached handle is a few atomic operations).
final class ServiceMetrics: Sendable {
    static let shared = ServiceMetrics()

    private let requestCounters = Mutex<[String: Metrics.Counter]>([:])
    private let requestTimers = Mutex<[String: Metrics.Timer]>([:])
    let batchSize: Metrics.Recorder
    let batchRoundTrip: Metrics.Timer
    let batchFailures: Metrics.Counter
    let reconnects: Metrics.Counter
    let bulk: BulkMetrics
    let inFlightRequests: Metrics.Gauge
    let openConnections: Metrics.Gauge
    private let requestTimeouts: Metrics.Counter
    private let firstByteTimeouts: Metrics.Counter
    /// The server's totals as of the previous scrape: the counters advance by the difference.
    private let exportedTimeouts = Mutex<(request: Int, firstByte: Int)>((0, 0))

    private init() {
        _ = PrometheusBackend.registry
        batchSize = Metrics.Recorder(label: "bidengine_bid_batch_size", aggregate: true)
        batchRoundTrip = Metrics.Timer(label: "bidengine_db_batch_duration_seconds", preferredDisplayUnit: .seconds)
        batchFailures = Metrics.Counter(label: "bidengine_db_batch_failures_total")
        reconnects = Metrics.Counter(label: "bidengine_db_connection_failures_total")
        bulk = BulkMetrics()
        inFlightRequests = Metrics.Gauge(label: "bidengine_http_requests_in_flight")
        openConnections = Metrics.Gauge(label: "bidengine_http_open_connections")
        requestTimeouts = Metrics.Counter(label: "bidengine_http_request_timeouts_total")
        firstByteTimeouts = Metrics.Counter(label: "bidengine_http_first_byte_timeouts_total")
    }

    /// Counts and times one answered request by route (pattern, bounded) and status.
    func record(_ exchange: HTTPExchange) {
        let route = exchange.route ?? "unmatched"
        let counterKey = "\(exchange.method.rawValue) \(route) \(exchange.status)"
        let counter = requestCounters.withLock { counters in
            if let existing = counters[counterKey] { return existing }
            let created = Metrics.Counter(
                label: "bidengine_http_requests_total",
                dimensions: [
                    ("method", exchange.method.rawValue), ("route", route), ("status", String(exchange.status)),
                ])
            counters[counterKey] = created
            return created
        }
        counter.increment()
        let timer = requestTimers.withLock { timers in
            if let existing = timers[route] { return existing }
            let created = Metrics.Timer(
                label: "bidengine_http_request_duration_seconds", dimensions: [("route", route)],
                preferredDisplayUnit: .seconds)
            timers[route] = created
            return created
        }
        timer.recordNanoseconds(exchange.duration.nanoseconds)
    }

    /// The exposition text, with the HTTP gauges read at scrape time.
    func render(server: HTTPServer?) -> [UInt8] {
        if let server {
            inFlightRequests.record(server.inFlightRequests)
            openConnections.record(server.openConnections)
            // Connections closed because a request did not arrive whole in time (slow clients), or
            // because nothing at all arrived (connect floods).
            let (request, firstByte) = (server.requestTimeouts, server.firstByteTimeouts)
            let previous = exportedTimeouts.withLock { exported in
                defer { exported = (request, firstByte) }
                return exported
            }
            if request > previous.request { requestTimeouts.increment(by: Int64(request - previous.request)) }
            if firstByte > previous.firstByte {
                firstByteTimeouts.increment(by: Int64(firstByte - previous.firstByte))
            }
        }
        return PrometheusBackend.render()
    }
}
