public import HTTPServer
import Metrics
public import Prometheus

/// The process's one Prometheus registry, installed as the swift-metrics backend on first use
/// (`MetricsSystem.bootstrap` may run only once per process). `serve` and `schedule` both export it.
public enum PrometheusBackend {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
        ]
        // Jobs (the nightly audit over millions of bids, a poll of many pages) take seconds to hours.
        factory.durationHistogramBuckets["bidengine_job_duration_seconds"] = [
            .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(15), .seconds(30), .seconds(60),
            .seconds(120), .seconds(300), .seconds(600), .seconds(1200), .seconds(1800), .seconds(3600), .seconds(7200),
        ]
        factory.valueHistogramBuckets["bidengine_bid_batch_size"] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
        factory.valueHistogramBuckets["bidengine_bulk_items_per_request"] = [1, 10, 50, 100, 250, 500, 1000]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// A `GET /metrics` reply carrying `body`, in the text exposition format.
    public static func exposition(_ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: body)
    }

    public static func render() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(8192)
        registry.emit(into: &buffer)
        return buffer
    }
}
