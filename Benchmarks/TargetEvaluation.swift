/// The goals stated for the bid path (issue 13, and the earlier ones still held), checked against a report.
enum TargetEvaluation {
    /// Server + PostgreSQL CPU per durable bid at 64 connections before issue 13: 34 + 37 µs in the
    /// last default run on a quiet machine (commit 7b598ad, docs/performance.md, "Where the time goes").
    static let cpuPerBidBefore = 71.0

    /// Bid path ÷ ceiling wanted at each concurrency of the sweep.
    static let ceilingFractions: [(connections: Int, fraction: Double)] = [(16, 0.30), (64, 0.45), (256, 0.60)]

    static func evaluate(_ report: BenchmarkReport) -> [TargetCheck] {
        let bid = report.closedThroughput("bid")
        let tenth = report.openRun("bid", fraction: 0.1)
        let half = report.openRun("bid", fraction: 0.5)
        let hotPath = report.micro.first { $0.name == "hot_path" }
        var checks: [TargetCheck] = ceilingFractions.map { goal in
            .atLeast(
                "bid path ≥ \(Format.percent(goal.fraction, places: 0)) of the ceiling at \(goal.connections) connections",
                value: report.fractionOfCeiling(connections: goal.connections), threshold: goal.fraction
            ) { Format.percent($0) }
        }
        checks += [
            .atMost("open loop p99 ≤ 1 ms at 10 % of max", value: tenth?.latency.p99, threshold: 1) {
                Format.milliseconds($0) + " ms"
            },
            .atMost("open loop p99 ≤ 2 ms at 50 % of max", value: half?.latency.p99, threshold: 2) {
                Format.milliseconds($0) + " ms"
            },
            .atMost("hot path ≤ 400 ns per bid", value: hotPath?.medianNanoseconds, threshold: 400) {
                Format.decimal($0, places: 0) + " ns"
            },
            .atMost("hot path ≤ 1 allocation per bid", value: hotPath?.allocationsPerOperation, threshold: 1) {
                Format.decimal($0, places: 2)
            },
            .atMost(
                "CPU per durable bid at 64 conns ≤ 70 % of \(Format.decimal(cpuPerBidBefore, places: 1)) µs",
                value: report.cpuPerDurableBid(connections: 64), threshold: cpuPerBidBefore * 0.7
            ) { Format.decimal($0, places: 1) + " µs" },
            .atLeast("durable POST /api/bid ≥ 30,000 bids/s", value: bid, threshold: 30_000) {
                "\(Format.rate($0)) bids/s"
            },
            .below("p99.9 < 10 ms at 50 % of max", value: half?.latency.p999, threshold: 10) {
                Format.milliseconds($0) + " ms"
            },
        ]
        return checks + slowloris(report) + bulk(report)
    }

    /// 100-item bulk requests at 16 connections against single bids and the database's full batches.
    private static func bulk(_ report: BenchmarkReport) -> [TargetCheck] {
        guard let outcome = report.bulk else { return [] }
        let bulk = outcome.median("bulk100", connections: 16)?.bidsPerSecond
        let single = outcome.median("single", connections: 16)?.bidsPerSecond
        let ratio = bulk.flatMap { bulk in single.flatMap { $0 > 0 ? bulk / $0 : nil } }
        let ceiling = bulk.flatMap { bulk in outcome.databaseFullBatchRowsPerSecond.flatMap { $0 > 0 ? bulk / $0 : nil }
        }
        return [
            .atLeast("bulk (100 items, 16 conns) ≥ 5× single bids at 16 conns", value: ratio, threshold: 5) {
                Format.decimal($0, places: 1) + "×"
            },
            .atLeast(
                "bulk (100 items, 16 conns) ≥ 50 % of the database full-batch rate", value: ceiling, threshold: 0.5
            ) {
                Format.percent($0)
            },
        ]
    }

    /// Normal clients' p99 during the slowloris attack (median of the rounds), per target measured.
    private static func slowloris(_ report: BenchmarkReport) -> [TargetCheck] {
        report.slowlorisTargets.map { target in
            .below(
                "p99 < 10 ms under slowloris (\(target))",
                value: report.slowlorisMedian(target) { $0.attacked.latency.p99 }, threshold: 10
            ) { Format.milliseconds($0) + " ms" }
        }
    }
}
