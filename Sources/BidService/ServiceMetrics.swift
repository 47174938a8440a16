import HTTPServer
import Metrics
import Observability
import Postgres
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
    /// How long groups waited in the writer before their statement started, by lane (`class`).
    let queueWait: [Metrics.Timer]
    let reconnects: Metrics.Counter
    let bulk: BulkMetrics
    let inFlightRequests: Metrics.Gauge
    let openConnections: Metrics.Gauge
    /// Reads sent to the primary although a replica is configured, by reason.
    let readFallbacks: [ReadRouteDecision.Reason: Metrics.Counter]
    /// The replica's lag as last measured by any loop, and whether reads go to it (1) or not (0).
    let replicaLag: Metrics.Gauge
    let replicaInUse: Metrics.Gauge
    let replicaConnectionFailures: Metrics.Counter
    private let requestTimeouts: Metrics.Counter
    private let firstByteTimeouts: Metrics.Counter
    /// The server's totals as of the previous scrape: the counters advance by the difference.
    private let exportedTimeouts = Mutex<(request: Int, firstByte: Int)>((0, 0))

    private init() {
        _ = PrometheusBackend.registry
        batchSize = Metrics.Recorder(label: "bidengine_bid_batch_size", aggregate: true)
        batchRoundTrip = Metrics.Timer(label: "bidengine_db_batch_duration_seconds", preferredDisplayUnit: .seconds)
        batchFailures = Metrics.Counter(label: "bidengine_db_batch_failures_total")
        queueWait = BidWriter.Lane.allCases.map {
            Metrics.Timer(
                label: "bidengine_bid_queue_wait_seconds", dimensions: [("class", $0.name)],
                preferredDisplayUnit: .seconds)
        }
        reconnects = Metrics.Counter(label: "bidengine_db_connection_failures_total")
        bulk = BulkMetrics()
        inFlightRequests = Metrics.Gauge(label: "bidengine_http_requests_in_flight")
        openConnections = Metrics.Gauge(label: "bidengine_http_open_connections")
        requestTimeouts = Metrics.Counter(label: "bidengine_http_request_timeouts_total")
        readFallbacks = Dictionary(
            uniqueKeysWithValues: ReadRouteDecision.Reason.allCases.map {
                ($0, Metrics.Counter(label: "bidengine_db_read_fallbacks_total", dimensions: [("reason", $0.rawValue)]))
            })
        replicaLag = Metrics.Gauge(label: "bidengine_db_replica_lag_seconds")
        replicaInUse = Metrics.Gauge(label: "bidengine_db_replica_in_use")
        replicaConnectionFailures = Metrics.Counter(label: "bidengine_db_replica_connection_failures_total")
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
