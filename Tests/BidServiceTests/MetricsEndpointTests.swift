import HTTPTestSupport
import Metrics
import Testing

@testable import BidService
@testable import Scheduler

/// The scheduler process's exporter: what its jobs record through swift-metrics is scraped.
@Suite struct MetricsEndpointTests {
    @Test func exportsWhatTheSchedulerRecords() throws {
        let endpoint = MetricsEndpoint(host: "127.0.0.1", port: 0)
        let port = try endpoint.start()
        defer { endpoint.shutdown() }
        // The job name is this test's own: other suites in the process record into the same registry.
        let metrics = SchedulerMetrics(factory: MetricsSystem.factory)
        metrics.runEnded(
            job: "metrics_endpoint_test", outcome: "success", nanoseconds: 2_000_000_000, finishedAt: 1_764_000_000)
        metrics.runEnded(job: "metrics_endpoint_test", outcome: "failure", nanoseconds: 1_000_000, finishedAt: 0)

        let client = try TestHTTPClient(port: port)
        let response = try client.request("GET", "/metrics")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
        let lines = Set(String(decoding: response.body, as: UTF8.self).split(separator: "\n").map(String.init))
        #expect(lines.contains(#"bidengine_job_runs_total{job="metrics_endpoint_test",outcome="success"} 1"#))
        #expect(lines.contains(#"bidengine_job_runs_total{job="metrics_endpoint_test",outcome="failure"} 1"#))
        #expect(
            lines.contains(#"bidengine_job_last_success_timestamp_seconds{job="metrics_endpoint_test"} 1764000000.0"#))
        #expect(lines.contains(#"bidengine_job_duration_seconds_count{job="metrics_endpoint_test"} 2"#))
        // A real audit takes minutes: the buckets reach an hour and beyond, so it does not land in +Inf.
        #expect(lines.contains(#"bidengine_job_duration_seconds_bucket{job="metrics_endpoint_test",le="3600.0"} 2"#))
        #expect(lines.contains(#"bidengine_job_duration_seconds_bucket{job="metrics_endpoint_test",le="1.0"} 1"#))

        let health = try client.request("GET", "/healthz")
        #expect(health.status == 200)
        #expect(String(decoding: health.body, as: UTF8.self) == #"{"status":"ok"}"#)
        #expect(try client.request("GET", "/api/bids").status == 404)
    }
}
