import Histogram

/// What one load run observed.
struct LoadResult {
    let target: String
    let plan: LoadPlan

    /// Answers that arrived inside the measured window: the throughput.
    var answeredInWindow = 0
    var okInWindow = 0
    /// Every answer of the run, warm-up and drain included, by status (the database row check
    /// compares the 200s with the rows).
    var statusCounts: [Int: Int] = [:]
    /// Sockets that failed or were closed by the server while a request was in flight, or could
    /// not be reconnected.
    var connectionErrors = 0
    /// Requests whose connection failed before an answer came.
    var failedRequests = 0
    /// Requests still unanswered when the drain timeout ran out.
    var unanswered = 0
    /// Open loop: requests scheduled inside the window that never went out before the run ended
    /// (the server was too far behind). Their latency is unknown and not in the histogram.
    var unsentInWindow = 0
    /// Microseconds. Closed loop: answers that arrived in the window; open loop: answers to
    /// requests scheduled in the window (however late they came).
    var latency = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// Open loop: how late the generator itself sent requests whose connection was free in time
    /// (timer and scheduling lag on a shared machine), microseconds.
    var timerLag = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
    /// CPU time of the generator thread during the run.
    var generatorCPUSeconds = 0.0
    var wallSeconds = 0.0

    init(target: String, plan: LoadPlan) {
        self.target = target
        self.plan = plan
    }

    var okTotal: Int { statusCounts[200] ?? 0 }
    var answeredTotal: Int { statusCounts.values.reduce(0, +) }
    var nonOKTotal: Int { answeredTotal - okTotal }

    /// 200 answers per second in the window: durable bids per second on the bid path.
    var okPerSecond: Double { Double(okInWindow) / plan.duration }
    var answeredPerSecond: Double { Double(answeredInWindow) / plan.duration }

    func latencyMilliseconds(percentile: Double) -> Double {
        Double(latency.valueAtPercentile(percentile)) / 1000
    }

    var maxLatencyMilliseconds: Double { Double(latency.max) / 1000 }

    /// (percentile, milliseconds) points of the latency distribution up to 99.99 %, for plots.
    func percentileCurve() -> [LatencyPoint] {
        guard latency.totalCount > 0 else { return [] }
        var points: [LatencyPoint] = []
        for step in latency.percentiles(ticksPerHalfDistance: 5) {
            let percentile = step.percentileLevelIteratedTo
            if percentile > 99.99 { break }
            points.append(LatencyPoint(percentile: percentile, milliseconds: Double(step.value) / 1000))
        }
        points.append(LatencyPoint(percentile: 99.99, milliseconds: Double(latency.valueAtPercentile(99.99)) / 1000))
        return points
    }
}
