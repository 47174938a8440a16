import Metrics
import Synchronization

/// The scheduler's metrics, through swift-metrics (the exporter is bootstrapped by the process):
///
/// - `bidengine_job_runs_total{job,outcome}`: runs ended, by `success`, `failure` or `cancelled`;
/// - `bidengine_job_duration_seconds{job}`: how long runs took;
/// - `bidengine_job_last_success_timestamp_seconds{job}`: Unix time of the last success, for
///   "the audit has not succeeded for 25 hours" alerts;
/// - `bidengine_scheduler_leader`: 1 while this replica is the active scheduler.
final class SchedulerMetrics: Sendable {
    private let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: Metrics.Timer]>([:])
    private let gauges = Mutex<[String: Gauge]>([:])
    let leader: Gauge

    init(factory: any MetricsFactory) {
        self.factory = factory
        leader = Gauge(label: "bidengine_scheduler_leader", factory: factory)
    }

    func runEnded(job: String, outcome: String, nanoseconds: Int64, finishedAt unixSeconds: Double) {
        counters.withLock { counters in
            let key = job + "\u{0}" + outcome
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "bidengine_job_runs_total", dimensions: [("job", job), ("outcome", outcome)], factory: factory)
            counters[key] = counter
            return counter
        }.increment()
        timers.withLock { timers in
            if let timer = timers[job] { return timer }
            let timer = Metrics.Timer(
                label: "bidengine_job_duration_seconds", dimensions: [("job", job)], preferredDisplayUnit: .seconds,
                factory: factory)
            timers[job] = timer
            return timer
        }.recordNanoseconds(nanoseconds)
        guard outcome == "success" else { return }
        gauges.withLock { gauges in
            if let gauge = gauges[job] { return gauge }
            let gauge = Gauge(
                label: "bidengine_job_last_success_timestamp_seconds", dimensions: [("job", job)], factory: factory)
            gauges[job] = gauge
            return gauge
        }.record(unixSeconds)
    }
}
