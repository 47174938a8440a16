import HTTPServer
import Metrics
import Prometheus
import Synchronization

/// The service's metrics, exported at `GET /metrics` in Prometheus text format.
///
/// Handles are created once per label set and cached (swift-metrics handle creation takes the
/// factory's lock; recording on a cached handle is a few atomic operations).
final class ServiceMetrics: Sendable {
    /// One registry per process: `MetricsSystem.bootstrap` may run only once.
    static let shared = ServiceMetrics()

    let registry: PrometheusCollectorRegistry
    private let requestCounters = Mutex<[String: Metrics.Counter]>([:])
    private let requestTimers = Mutex<[String: Metrics.Timer]>([:])
    let batchSize: Metrics.Recorder
    let batchRoundTrip: Metrics.Timer
    let batchFailures: Metrics.Counter
    let reconnects: Metrics.Counter
    let inFlightRequests: Metrics.Gauge
    let openConnections: Metrics.Gauge

    private init() {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        ]
        factory.valueHistogramBuckets["bidengine_bid_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        MetricsSystem.bootstrap(factory)
        batchSize = Metrics.Recorder(label: "bidengine_bid_batch_size", aggregate: true)
        batchRoundTrip = Metrics.Timer(label: "bidengine_db_batch_duration_seconds", preferredDisplayUnit: .seconds)
        batchFailures = Metrics.Counter(label: "bidengine_db_batch_failures_total")
        reconnects = Metrics.Counter(label: "bidengine_db_connection_failures_total")
        inFlightRequests = Metrics.Gauge(label: "bidengine_http_requests_in_flight")
        openConnections = Metrics.Gauge(label: "bidengine_http_open_connections")
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
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8192)
        registry.emit(into: &buffer)
        return buffer
    }
}
