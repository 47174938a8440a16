extension ReportPrinter {
    static func isolation(_ outcome: IsolationBenchmark.Outcome, settings: BenchmarkSettings) {
        Console.line()
        Console.line(
            "9. Isolation — single POST /api/bid at 10 % of their closed-loop rate (\(Format.rate(outcome.singleClosedLoopPerSecond))/s), open loop, \(outcome.connections) connections, \(Format.decimal(settings.openSeconds, places: 1)) s measured"
        )
        let widths = [34, 10, 10, 10, 12, 12, 8]
        Console.line(row(["single bids", "offered/s", "200/s", "p99 ms", "p99.9 ms", "p99 ratio", "non200"], widths))
        for (name, singles) in [
            ("alone", outcome.alone),
            ("beside saturating bulk (\(Format.rate(outcome.bulkBidsPerSecond)) bids/s)", outcome.besideBulk),
            ("beside a key at 10× its quota", outcome.besideLimited),
        ] {
            Console.line(
                row(
                    [
                        name, Format.rate(singles.offeredPerSecond), Format.rate(singles.okPerSecond),
                        Format.milliseconds(singles.latency.p99), Format.milliseconds(singles.latency.p999),
                        Format.decimal(singles.latency.p99 / max(outcome.alone.latency.p99, 0.001), places: 2) + "×",
                        String(singles.non200),
                    ], widths))
        }
        Console.line(
            "   limited key (\(outcome.limitedRate) bids/s, burst \(outcome.limitedBurst)) offered \(Format.rate(outcome.limitedOfferedPerSecond))/s for \(Format.decimal(outcome.limitedSeconds, places: 1)) s: \(outcome.limitedSent) answered, \(outcome.limitedOK) stored (allowed \(Format.decimal(outcome.limitedAllowed, places: 0))), \(outcome.limitedRefused429) refused with 429 = \(Format.percent(outcome.refusedShareOfExcess)) of the excess"
        )
    }
}
