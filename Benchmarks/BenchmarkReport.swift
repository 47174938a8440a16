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
    var isolation: IsolationBenchmark.Outcome?
    var targets: [TargetCheck] = []
    var notes: [String] = []
    var durationSeconds = 0.0

    /// Closed-loop runs of one target at `connections` (default: the main concurrency), in round order.
    func closedRuns(_ target: String, connections: Int? = nil) -> [HTTPRunSummary] {
        let concurrency = connections ?? settings.connections
        return http.filter { $0.target == target && $0.mode == "closed" && $0.connections == concurrency }
    }

    /// The closed loop's concurrencies, in the order they ran.
    var connectionSweep: [Int] { settings.connectionSweep ?? [settings.connections] }

    /// Server plus PostgreSQL CPU per durable bid (µs), median over the bid path's closed rounds at
    /// `connections`; nil when PostgreSQL's processes are not visible.
    func cpuPerDurableBid(connections: Int? = nil) -> Double? {
        closedRuns("bid", connections: connections).compactMap { run -> Double? in
            guard let cpu = run.cpu, let postgres = cpu.postgres, run.okPerSecond > 0 else { return nil }
            return (cpu.server + postgres) / run.okPerSecond * 1e6
        }.median
    }

    /// Bid path ÷ ceiling (medians) at `connections`.
    func fractionOfCeiling(connections: Int? = nil) -> Double? {
        guard let bid = closedThroughput("bid", connections: connections),
            let ceiling = closedThroughput("ceiling", connections: connections), ceiling > 0
        else { return nil }
        return bid / ceiling
    }

    func openRuns(_ target: String) -> [HTTPRunSummary] {
        http.filter { $0.target == target && $0.mode == "open" }
    }

    /// Median 200-answers per second over the closed-loop rounds of `target`.
    func closedThroughput(_ target: String, connections: Int? = nil) -> Double? {
        closedRuns(target, connections: connections).map(\.okPerSecond).median
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
