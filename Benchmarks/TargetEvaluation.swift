/// The goals stated for the bid path, checked against a report.
enum TargetEvaluation {
    static func evaluate(_ report: BenchmarkReport) -> [TargetCheck] {
        let bid = report.closedThroughput("bid")
        let ceiling = report.closedThroughput("ceiling")
        let half = report.openRun("bid", fraction: 0.5)
        let hotPath = report.micro.first { $0.name == "hot_path" }
        let fraction = bid.flatMap { bid in ceiling.flatMap { $0 > 0 ? bid / $0 : nil } }
        return [
            .atLeast("durable POST /api/bid ≥ 30,000 bids/s", value: bid, threshold: 30_000) {
                "\(Format.rate($0)) bids/s"
            },
            .atLeast("bid path ≥ 40 % of the fixed-response ceiling", value: fraction, threshold: 0.40) {
                Format.percent($0)
            },
            .below("p99 < 2 ms at 50 % of max", value: half?.latency.p99, threshold: 2) {
                Format.milliseconds($0) + " ms"
            },
            .below("p99.9 < 10 ms at 50 % of max", value: half?.latency.p999, threshold: 10) {
                Format.milliseconds($0) + " ms"
            },
            .below("pure hot path < 1 µs per bid", value: hotPath?.medianNanoseconds, threshold: 1_000) {
                Format.decimal($0, places: 0) + " ns"
            },
        ] + slowloris(report)
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
