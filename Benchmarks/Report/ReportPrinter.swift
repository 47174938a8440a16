/// The table on stdout, printed section by section as the figures arrive.
enum ReportPrinter {
    static func header(_ report: BenchmarkReport) {
        let machine = report.machine
        let settings = report.settings
        Console.line("BidEngine benchmarks — \(settings.quick ? "quick" : "default") run, \(report.startedAt)")
        Console.line("command:  \(report.command)")
        Console.line(
            "machine:  \(machine.cores) cores, \(machine.cpuModel), \(Format.decimal(machine.memoryGigabytes, places: 1)) GiB, \(machine.kernel), \(machine.operatingSystem)"
        )
        Console.line("build:    \(machine.buildConfiguration), \(machine.swiftVersion), commit \(machine.gitCommit)")
        Console.line(
            "load:     \(machine.loadAverageAtStart.map { Format.decimal($0, places: 2) }.joined(separator: " ")) (1/5/15-minute load average at start)"
        )
    }

    static func database(_ machine: MachineDescription) {
        Console.line("database: \(machine.postgres); \(machine.database)")
        Console.line("server:   \(machine.serverBinary)")
    }

    // MARK: Micro

    static func micro(_ results: [MicroResult], settings: BenchmarkSettings) {
        Console.line()
        Console.line(
            "1. Micro benchmarks — pure hot path, no I/O (median of \(settings.microRuns) runs after a warm-up; allocs = calls to malloc/calloc/realloc/posix_memalign/aligned_alloc)"
        )
        Console.line(
            row(["benchmark", "ns/op", "min", "max", "allocs/op", "iterations/run"], [16, 10, 10, 10, 10, 15]))
        for result in results {
            Console.line(
                row(
                    [
                        result.name, Format.decimal(result.medianNanoseconds, places: 1),
                        Format.decimal(result.minNanoseconds, places: 1),
                        Format.decimal(result.maxNanoseconds, places: 1),
                        result.allocationsPerOperation.map { Format.decimal($0, places: 2) } ?? "n/a",
                        Format.integer(result.iterationsPerRun),
                    ], [16, 10, 10, 10, 10, 15]))
        }
        for result in results { Console.line("   \(result.name): \(result.summary)") }
    }

    // MARK: HTTP

    static let closedWidths = [9, 6, 6, 12, 9, 9, 9, 9, 22]

    static func closedHeader(_ settings: BenchmarkSettings, targets: [HTTPTarget]) {
        Console.line()
        Console.line(
            "2. HTTP throughput — closed loop, \((settings.connectionSweep ?? [settings.connections]).map(String.init).joined(separator: ", ")) keep-alive connections, \(Format.decimal(settings.warmupSeconds, places: 1)) s warm-up + \(Format.decimal(settings.closedSeconds, places: 1)) s measured, \(settings.rounds) round(s), interleaved"
        )
        for target in targets {
            Console.line("   \(target.name): \(target.method) http://\(target.host):\(target.port)\(target.path)")
        }
        Console.line("   load generator: \(settings.loadGenerator)")
        Console.line(
            row(
                ["target", "round", "conns", "200/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "CPU cores srv/pg/gen"],
                closedWidths))
    }

    static func closedRow(_ run: HTTPRunSummary) {
        let cpu = run.cpu?.compact ?? ""
        Console.line(
            row(
                [
                    run.target, run.round.map(String.init) ?? "", String(run.connections), Format.rate(run.okPerSecond),
                    Format.milliseconds(run.latency.p50),
                    Format.milliseconds(run.latency.p90), Format.milliseconds(run.latency.p99),
                    Format.milliseconds(run.latency.max), cpu,
                ], closedWidths))
        if let cpu = run.cpu, run.answeredPerSecond > 0 {
            let perAnswer = { (cores: Double) in Format.decimal(cores / run.answeredPerSecond * 1e6, places: 1) + " µs"
            }
            Console.line(
                "     CPU per answer: server \(perAnswer(cpu.server)), PostgreSQL \(cpu.postgres.map(perAnswer) ?? "n/a"), load generator \(perAnswer(cpu.loadGenerator))"
            )
        }
        details(run)
    }

    static func closedSummary(_ report: BenchmarkReport) {
        for connections in report.connectionSweep {
            guard let bid = report.closedThroughput("bid", connections: connections) else { continue }
            var line = "   median at \(connections) connections: bid \(Format.rate(bid)) durable bids/s"
            if let ceiling = report.closedThroughput("ceiling", connections: connections), ceiling > 0 {
                line +=
                    "; ceiling \(Format.rate(ceiling)) req/s; bid path = \(Format.percent(bid / ceiling)) of the ceiling"
            }
            if let baseline = report.closedThroughput("baseline", connections: connections), baseline > 0 {
                line += "; baseline \(Format.rate(baseline)) req/s; bid/baseline = \(Format.ratio(bid / baseline))"
            }
            if let cpu = report.cpuPerDurableBid(connections: connections) {
                line += "; CPU per durable bid (server + PostgreSQL) \(Format.decimal(cpu, places: 1)) µs"
            }
            Console.line(line)
        }
    }

    static let openWidths = [9, 8, 10, 10, 8, 8, 8, 8, 8, 9, 22]

    static func openHeader(_ settings: BenchmarkSettings, maximum: Double) {
        Console.line()
        Console.line(
            "3. HTTP latency — open loop at fixed offered rates (fractions of the bid path's \(Format.rate(maximum))/s), \(settings.connections) connections, \(Format.decimal(settings.openSeconds, places: 1)) s measured after \(Format.decimal(settings.warmupSeconds, places: 1)) s"
        )
        Console.line(
            "   latency from each request's scheduled send time (coordinated omission corrected, as wrk2); HdrHistogram, 3 significant digits"
        )
        Console.line(
            row(
                [
                    "target", "% of max", "offered/s", "achieved", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms",
                    "lag p99", "CPU cores srv/pg/gen",
                ], openWidths))
    }

    static func openRow(_ run: HTTPRunSummary) {
        let cpu = run.cpu?.compact ?? ""
        Console.line(
            row(
                [
                    run.target, Format.percent(run.fractionOfMax ?? 0, places: 0), Format.rate(run.offeredRate ?? 0),
                    Format.rate(run.answeredPerSecond),
                    Format.milliseconds(run.latency.p50), Format.milliseconds(run.latency.p90),
                    Format.milliseconds(run.latency.p99),
                    Format.milliseconds(run.latency.p999), Format.milliseconds(run.latency.max),
                    run.timerLagP99.map { Format.milliseconds($0) } ?? "", cpu,
                ], openWidths))
        details(run)
    }

    /// Row check, batches and anything that went wrong, under a run's row.
    private static func details(_ run: HTTPRunSummary) {
        if let check = run.rowCheck { Console.line("     rows: \(check.summary)") }
        if let batches = run.batchSizes { Console.line("     batches (PostgreSQL): \(batches.summary)") }
        if let batches = run.metricsBatchSizes { Console.line("     batches (/metrics):   \(batches.summary)") }
        if let checkpoints = run.checkpoints, checkpoints > 0 {
            Console.line("     PostgreSQL checkpoints during the run: \(checkpoints)")
        }
        if !run.problems.isEmpty { Console.line("     problems: \(run.problems)") }
    }

    // MARK: Database, audit, baseline, targets

    static let databaseWidths = [18, 8, 9, 11, 11, 17, 40]

    static func databaseHeader() {
        Console.line()
        Console.line(
            "4. Database ceiling — the same bids through BidWriter (same statement, same batching) on standalone event loops, no HTTP"
        )
        Console.line(
            "   same_concurrency: the HTTP run's clients, each handing in its next bid once the last is acknowledged; saturated: every statement a full batch"
        )
        Console.line(
            row(["run", "loops", "clients", "rows/s", "rows check", "CPU µs/row w/pg", "batches"], databaseWidths))
    }

    static func databaseRow(_ outcome: DatabaseCeiling.Outcome) {
        Console.line(
            row(
                [
                    outcome.name, String(outcome.loops), String(outcome.clientsPerLoop * outcome.loops),
                    Format.rate(outcome.rowsPerSecond),
                    outcome.rowsInDatabase == outcome.acknowledgedTotal
                        ? "✓" : "\(outcome.rowsInDatabase) ≠ \(outcome.acknowledgedTotal)",
                    outcome.cpu.map { cpu in
                        let perRow = { (cores: Double) in
                            Format.decimal(cores / max(outcome.rowsPerSecond, 1) * 1e6, places: 1)
                        }
                        return "\(perRow(cpu.server))/\(cpu.postgres.map(perRow) ?? "?")"
                    } ?? "",
                    outcome.batchSizes.summary,
                ], databaseWidths))
        if outcome.failures > 0 { Console.line("     problems: \(outcome.failures) writes failed") }
    }

    static func audit(_ outcome: AuditBenchmark.Outcome?, skipped: String?) {
        Console.line()
        Console.line("5. Audit")
        if let skipped {
            Console.line("   skipped: \(skipped)")
            return
        }
        guard let outcome else { return }
        Console.line(
            "   \(Format.integer(outcome.rows)) bids seeded with COPY in \(Format.decimal(outcome.seedSeconds, places: 1)) s (one in eight deviating by 50 %); `bidengine audit --as-of \(outcome.asOf)`:"
        )
        Console.line(
            "   \(Format.decimal(outcome.auditSeconds, places: 2)) s wall, \(Format.decimal(outcome.auditCPUSeconds, places: 2)) s CPU, peak RSS \(Format.decimal(outcome.peakResidentMegabytes, places: 1)) MiB, exit \(outcome.exitCode.map(String.init) ?? "signal")"
        )
        Console.line(
            "   baseline `SELECT count(*)` of the same window: \(Format.decimal(outcome.countSeconds, places: 2)) s; audit / count(*) = \(Format.decimal(outcome.auditSeconds / max(outcome.countSeconds, 1e-9), places: 2))x"
        )
        if let reviewed = outcome.bidsReviewed, let flagged = outcome.bidsFlagged {
            Console.line(
                "   audit_runs: \(Format.integer(reviewed)) bids reviewed, \(Format.integer(flagged)) flagged"
                    + (reviewed == outcome.rows ? "" : " — expected \(Format.integer(outcome.rows)) reviewed"))
        }
        if outcome.exitCode != 0 { Console.line("   output: \(outcome.outputTail)") }
    }

    static func baseline(_ report: BenchmarkReport) {
        guard !report.closedRuns("baseline").isEmpty else { return }
        Console.line()
        Console.line("6. Baseline ratios (ours ÷ baseline, same load; throughput > 1 and latency < 1 favour ours)")
        if let bid = report.closedThroughput("bid"), let baseline = report.closedThroughput("baseline"), baseline > 0 {
            Console.line(
                "   closed-loop 200/s: \(Format.ratio(bid / baseline))   (ceiling ÷ baseline: \(report.closedThroughput("ceiling").map { Format.ratio($0 / baseline) } ?? "n/a"))"
            )
        }
        for fraction in report.settings.rateFractions {
            guard let ours = report.openRun("bid", fraction: fraction),
                let theirs = report.openRun("baseline", fraction: fraction)
            else { continue }
            let ratio = { (a: Double, b: Double) in b > 0 ? Format.ratio(a / b) : "n/a" }
            Console.line(
                "   at \(Format.percent(fraction, places: 0)) of max: p50 \(ratio(ours.latency.p50, theirs.latency.p50)), p99 \(ratio(ours.latency.p99, theirs.latency.p99)), p99.9 \(ratio(ours.latency.p999, theirs.latency.p999))"
            )
        }
    }

    static func targets(_ checks: [TargetCheck]) {
        Console.line()
        Console.line("Targets")
        for check in checks {
            Console.line(
                row(
                    [check.met.map { $0 ? "MET" : "MISSED" } ?? "n/a", check.goal, check.measured, check.margin],
                    [8, 62, 16, 30], numeric: false))
        }
    }

    static func notes(_ notes: [String]) {
        guard !notes.isEmpty else { return }
        Console.line()
        Console.line("Notes")
        for note in notes { Console.line("- \(note)") }
    }

    /// Cells padded to `widths`; the middle ones right-aligned (numbers) unless `numeric` is false.
    static func row(_ cells: [String], _ widths: [Int], numeric: Bool = true) -> String {
        var line = "  "
        for (index, cell) in cells.enumerated() {
            let width = index < widths.count ? widths[index] : 10
            line += Format.column(cell, width, right: numeric && index > 0 && index < cells.count - 1) + " "
        }
        while line.hasSuffix(" ") { line.removeLast() }
        return line
    }
}
