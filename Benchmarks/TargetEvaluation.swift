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
        ] + slowloris(report) + bulk(report)
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
