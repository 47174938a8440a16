/// Flattens a report into named figures: what `--json` lists under `figures` and what
/// `--compare` matches between two runs.
enum FigureBuilder {
    static let targetOrder = ["bid", "ceiling", "baseline"]

    static func figures(for report: BenchmarkReport) -> [Figure] {
        var figures: [Figure] = []
        func add(_ name: String, _ value: Double?, _ unit: String, _ better: Figure.Better) {
            guard let value, value.isFinite else { return }
            figures.append(Figure(name: name, value: value, unit: unit, better: better))
        }

        for micro in report.micro {
            add("micro.\(micro.name).ns_per_op", micro.medianNanoseconds, "ns", .lower)
            add("micro.\(micro.name).allocs_per_op", micro.allocationsPerOperation, "allocations", .lower)
        }

        for target in targetOrder {
            let closed = report.closedRuns(target)
            guard !closed.isEmpty || !report.openRuns(target).isEmpty else { continue }
            add("http.\(target).closed.ok_per_s", report.closedThroughput(target), "1/s", .higher)
            add("http.\(target).closed.p50_ms", closed.map(\.latency.p50).median, "ms", .lower)
            add("http.\(target).closed.p99_ms", closed.map(\.latency.p99).median, "ms", .lower)
            for run in report.openRuns(target) {
                let prefix = "http.\(target).open.\(Int(((run.fractionOfMax ?? 0) * 100).rounded()))pct"
                add(prefix + ".offered_per_s", run.offeredRate, "1/s", .neither)
                add(prefix + ".p50_ms", run.latency.p50, "ms", .lower)
                add(prefix + ".p90_ms", run.latency.p90, "ms", .lower)
                add(prefix + ".p99_ms", run.latency.p99, "ms", .lower)
                add(prefix + ".p999_ms", run.latency.p999, "ms", .lower)
                add(prefix + ".max_ms", run.latency.max, "ms", .lower)
            }
        }
        if let bid = report.closedThroughput("bid") {
            if let ceiling = report.closedThroughput("ceiling"), ceiling > 0 {
                add("http.bid.fraction_of_ceiling", bid / ceiling, "ratio", .higher)
            }
            if let baseline = report.closedThroughput("baseline"), baseline > 0 {
                add("http.bid_over_baseline.closed", bid / baseline, "ratio", .higher)
            }
            add(
                "http.bid.closed.batch_mean", report.closedRuns("bid").compactMap { $0.batchSizes?.mean }.median,
                "bids", .neither)
        }

        for connections in report.connectionSweep {
            add(
                "http.bid.closed.c\(connections).ok_per_s", report.closedThroughput("bid", connections: connections),
                "1/s", .higher)
            add(
                "http.bid.fraction_of_ceiling.c\(connections)", report.fractionOfCeiling(connections: connections),
                "ratio", .higher)
            add(
                "http.bid.cpu_us_per_bid.c\(connections)", report.cpuPerDurableBid(connections: connections), "µs",
                .lower)
        }

        for ceiling in report.databaseCeilings {
            add("db.\(ceiling.name).rows_per_s", ceiling.rowsPerSecond, "1/s", .higher)
            add("db.\(ceiling.name).batch_mean", ceiling.batchSizes.mean, "bids", .neither)
        }
        for target in report.slowlorisTargets {
            let prefix = "slowloris.\(target)"
            let median = { (figure: (SlowlorisBenchmark.Outcome) -> Double?) in report.slowlorisMedian(target, figure) }
            add(prefix + ".offered_per_s", median { $0.offeredRate }, "1/s", .neither)
            add(prefix + ".quiet.p99_ms", median { $0.quiet.latency.p99 }, "ms", .lower)
            add(prefix + ".attacked.p50_ms", median { $0.attacked.latency.p50 }, "ms", .lower)
            add(prefix + ".attacked.p99_ms", median { $0.attacked.latency.p99 }, "ms", .lower)
            add(prefix + ".attacked.p999_ms", median { $0.attacked.latency.p999 }, "ms", .lower)
            add(prefix + ".p99_ratio", median { $0.p99Ratio }, "ratio", .lower)
            add(prefix + ".slow_lifetime_max_s", median { $0.attack.lifetimeMax }, "s", .neither)
        }
        if let audit = report.audit, audit.exitCode == 0 {
            add("audit.seconds", audit.auditSeconds, "s", .lower)
            add("audit.peak_rss_mb", audit.peakResidentMegabytes, "MiB", .lower)
        }
        return figures
    }
}
