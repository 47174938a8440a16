/// The goals stated for the bid path, checked against a report.
enum TargetEvaluation {
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
            cpuPerBid(report),
            .atLeast("durable POST /api/bid ≥ 30,000 bids/s", value: bid, threshold: 30_000) {
                "\(Format.rate($0)) bids/s"
            },
            .below("p99.9 < 10 ms at 50 % of max", value: half?.latency.p999, threshold: 10) {
                Format.milliseconds($0) + " ms"
            },
        ]
        return checks + slowloris(report) + bulk(report)
    }

    /// Server + PostgreSQL CPU per durable bid at 64 connections, at most 70 % of a baseline measured
    /// on the same machine: `--cpu-per-bid-baseline`, or the same figure in the `--compare` report.
    /// A figure measured on another machine says nothing about this one, so without a baseline the
    /// check is shown and not scored.
    private static func cpuPerBid(_ report: BenchmarkReport) -> TargetCheck {
        let value = report.cpuPerDurableBid(connections: 64)
        let shown = { (value: Double) in Format.decimal(value, places: 1) + " µs" }
        guard let baseline = report.settings.cpuPerBidBaseline else {
            return TargetCheck(
                goal: "CPU per durable bid at 64 conns ≤ 70 % of the baseline",
                measured: value.map(shown) ?? "not measured",
                met: nil, margin: "no baseline: give --cpu-per-bid-baseline or --compare")
        }
        return .atMost(
            "CPU per durable bid at 64 conns ≤ 70 % of \(shown(baseline))", value: value, threshold: baseline * 0.7,
            shown: shown)
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
