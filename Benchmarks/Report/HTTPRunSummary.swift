/// One load run as recorded in the JSON report.
struct HTTPRunSummary: Codable, Sendable {
    let target: String
    let mode: String
    /// Open loop: requests per second offered, and as a fraction of the bid path's measured maximum.
    let offeredRate: Double?
    let fractionOfMax: Double?
    let round: Int?
    let connections: Int
    let seconds: Double
    let okPerSecond: Double
    let answeredPerSecond: Double
    let statusCounts: [String: Int]
    let connectionErrors: Int
    let failedRequests: Int
    let unanswered: Int
    let unsentInWindow: Int
    let latency: LatencySummary
    /// Open loop: 99th percentile of the generator's own lateness in sending, milliseconds.
    let timerLagP99: Double?
    let curve: [LatencyPoint]
    var cpu: CPUShare?
    var rowCheck: RowCheck?
    var batchSizes: BatchSizes?
    var metricsBatchSizes: BatchSizes?
    /// PostgreSQL checkpoints that happened during the run (bid path only).
    var checkpoints: Int?

    init(_ result: LoadResult, fractionOfMax: Double? = nil, round: Int? = nil) {
        target = result.target
        switch result.plan.mode {
        case .closed:
            mode = "closed"
            offeredRate = nil
        case .open(let rate):
            mode = "open"
            offeredRate = rate
        }
        self.fractionOfMax = fractionOfMax
        self.round = round
        connections = result.plan.connections
        seconds = result.plan.duration
        okPerSecond = result.okPerSecond
        answeredPerSecond = result.answeredPerSecond
        statusCounts = Dictionary(uniqueKeysWithValues: result.statusCounts.map { (String($0.key), $0.value) })
        connectionErrors = result.connectionErrors
        failedRequests = result.failedRequests
        unanswered = result.unanswered
        unsentInWindow = result.unsentInWindow
        latency = LatencySummary(result)
        timerLagP99 =
            mode == "open" && result.timerLag.totalCount > 0
            ? Double(result.timerLag.valueAtPercentile(99)) / 1000 : nil
        curve = result.percentileCurve()
    }

    /// Everything that was not a 200, and every socket problem, in one line (empty when clean).
    var problems: String {
        var parts: [String] = []
        for (status, count) in statusCounts.sorted(by: { $0.key < $1.key }) where status != "200" {
            parts.append("\(Format.integer(count)) × \(status)")
        }
        if connectionErrors > 0 { parts.append("\(connectionErrors) connection errors") }
        if failedRequests > 0 { parts.append("\(failedRequests) requests lost with their connection") }
        if unanswered > 0 { parts.append("\(unanswered) unanswered at the end") }
        if unsentInWindow > 0 {
            parts.append("\(Format.integer(unsentInWindow)) due but never sent (server too far behind)")
        }
        return parts.joined(separator: ", ")
    }
}
