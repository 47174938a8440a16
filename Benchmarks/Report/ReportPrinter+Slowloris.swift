extension ReportPrinter {
    static func slowlorisHeader(_ settings: BenchmarkSettings) {
        Console.line()
        Console.line(
            "7. Slow clients — normal clients at \(Format.rate(settings.slowlorisRate))/s (open loop, \(settings.connections) connections, \(Format.decimal(settings.slowlorisSeconds, places: 1)) s measured after \(Format.decimal(settings.warmupSeconds, places: 1)) s), without and then during an attack, \(settings.slowlorisRounds) round(s) alternating"
        )
        Console.line(
            "   attack: \(settings.slowHeaders) connections trickling headers and \(settings.slowBodies) with a stalled body (half trickle it), one byte per 100 ms, never finishing; each one closed is replaced at once"
        )
        Console.line(
            "  "
                + [
                    ("target", 9, false), ("round", 5, true), ("attack", 9, false), ("offered/s", 10, true),
                    ("achieved", 10, true),
                    ("p50 ms", 8, true), ("p90 ms", 8, true), ("p99 ms", 8, true), ("p99.9 ms", 8, true),
                    ("max ms", 8, true), ("lag p99", 9, true), ("CPU cores srv/pg/gen", 22, false),
                ].map { Format.column($0.0, $0.1, right: $0.2) }.joined(separator: " "))
    }

    static func slowlorisRows(_ outcome: SlowlorisBenchmark.Outcome) {
        for (label, run) in [("none", outcome.quiet), ("slowloris", outcome.attacked)] {
            let cells = [
                Format.column(outcome.target, 9), Format.column(String(outcome.round), 5, right: true),
                Format.column(label, 9),
                Format.column(Format.rate(run.offeredRate ?? 0), 10, right: true),
                Format.column(Format.rate(run.answeredPerSecond), 10, right: true),
                Format.column(Format.milliseconds(run.latency.p50), 8, right: true),
                Format.column(Format.milliseconds(run.latency.p90), 8, right: true),
                Format.column(Format.milliseconds(run.latency.p99), 8, right: true),
                Format.column(Format.milliseconds(run.latency.p999), 8, right: true),
                Format.column(Format.milliseconds(run.latency.max), 8, right: true),
                Format.column(run.timerLagP99.map { Format.milliseconds($0) } ?? "", 9, right: true),
                run.cpu?.compact ?? "",
            ]
            Console.line("  " + cells.joined(separator: " "))
            if !run.problems.isEmpty { Console.line("     problems: \(run.problems)") }
        }
        let attack = outcome.attack
        let seconds = { (value: Double?) in value.map { Format.decimal($0, places: 2) + " s" } ?? "n/a" }
        Console.line(
            "     p99 under attack ÷ without: \(outcome.p99Ratio.map { Format.ratio($0) } ?? "n/a"); slow connections opened \(Format.integer(attack.connectionsOpened)), closed by the server \(Format.integer(attack.closedByServer)), answered \(attack.answered), connect failures \(attack.connectFailures); attack thread \(Format.decimal(attack.cpu, places: 2)) cores"
        )
        Console.line(
            "     lifetime of closed slow connections (first byte to EOF): min \(seconds(attack.lifetimeMin)), p50 \(seconds(attack.lifetimeP50)), p99 \(seconds(attack.lifetimeP99)), max \(seconds(attack.lifetimeMax)); open at the end \(attack.openAtEnd), oldest \(seconds(attack.oldestOpenAtEnd))"
        )
    }

    /// Medians over the rounds, per target: what the Targets table and `--compare` use.
    static func slowlorisSummary(_ report: BenchmarkReport) {
        for target in report.slowlorisTargets {
            let median = { (figure: (SlowlorisBenchmark.Outcome) -> Double?) in
                report.slowlorisMedian(target, figure).map { Format.milliseconds($0) } ?? "n/a"
            }
            let ratio = report.slowlorisMedian(target) { $0.p99Ratio }.map { Format.ratio($0) } ?? "n/a"
            Console.line(
                "   median \(target): without p50/p99/p99.9 \(median { $0.quiet.latency.p50 })/\(median { $0.quiet.latency.p99 })/\(median { $0.quiet.latency.p999 }) ms, under attack \(median { $0.attacked.latency.p50 })/\(median { $0.attacked.latency.p99 })/\(median { $0.attacked.latency.p999 }) ms, p99 ratio \(ratio)"
            )
        }
    }
}
