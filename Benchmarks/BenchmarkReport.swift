/// Everything one run measured, as written by `--json` and read back by `--compare`.
struct BenchmarkReport: Codable, Sendable {
    var schemaVersion = 1
    var startedAt: String
    var command: String
    var machine: MachineDescription
    var settings: BenchmarkSettings
    var figures: [Figure] = []
    var micro: [MicroResult] = []
    var http: [HTTPRunSummary] = []
    var databaseCeilings: [DatabaseCeiling.Outcome] = []
    var audit: AuditBenchmark.Outcome?
    var slowloris: [SlowlorisBenchmark.Outcome] = []
    var bulk: BulkBenchmark.Outcome?
    var targets: [TargetCheck] = []
    var notes: [String] = []
    var durationSeconds = 0.0

    /// Closed-loop runs of one target, in round order.
    func closedRuns(_ target: String) -> [HTTPRunSummary] {
        http.filter { $0.target == target && $0.mode == "closed" }
    }

    func openRuns(_ target: String) -> [HTTPRunSummary] {
        http.filter { $0.target == target && $0.mode == "open" }
    }

    /// Median 200-answers per second over the closed-loop rounds of `target`.
    func closedThroughput(_ target: String) -> Double? {
        closedRuns(target).map(\.okPerSecond).median
    }

    /// Targets of the slowloris section, in the order they ran.
    var slowlorisTargets: [String] {
        slowloris.map(\.target).reduce(into: []) { names, name in if !names.contains(name) { names.append(name) } }
    }

    /// Median over the slowloris rounds of `target` of one figure of a round.
    func slowlorisMedian(_ target: String, _ figure: (SlowlorisBenchmark.Outcome) -> Double?) -> Double? {
        slowloris.filter { $0.target == target }.compactMap(figure).median
    }

    func openRun(_ target: String, fraction: Double) -> HTTPRunSummary? {
        openRuns(target).first { abs(($0.fractionOfMax ?? -1) - fraction) < 1e-9 }
    }
}
