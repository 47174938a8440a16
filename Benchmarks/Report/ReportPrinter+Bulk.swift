extension ReportPrinter {
    static let bulkWidths = [9, 7, 6, 10, 10, 8, 8, 8, 6, 26]

    static func bulkHeader(_ settings: BenchmarkSettings) {
        Console.line()
        Console.line(
            "8. Bulk — POST /api/bids/batch (10 and 100 valid bids per request) against single POST /api/bid, closed loop, \(Format.decimal(settings.warmupSeconds, places: 1)) s warm-up + \(Format.decimal(settings.closedSeconds, places: 1)) s measured, \(settings.rounds) round(s), interleaved; latency per request"
        )
        Console.line(
            row(
                ["target", "conns", "round", "req/s", "bids/s", "p50 ms", "p99 ms", "max ms", "non200", "rows check"],
                bulkWidths))
    }

    static func bulkRow(_ run: BulkBenchmark.Run) {
        Console.line(
            row(
                [
                    run.name, String(run.connections), String(run.round), Format.rate(run.requestsPerSecond),
                    Format.rate(run.bidsPerSecond), Format.milliseconds(run.latency.p50),
                    Format.milliseconds(run.latency.p99), Format.milliseconds(run.latency.max), String(run.non200),
                    run.rowCheck.matches ? "✓" : "\(run.rowCheck.rows) ≠ \(run.rowCheck.acknowledged)",
                ], bulkWidths))
    }

    static func bulkSummary(_ outcome: BulkBenchmark.Outcome) {
        for connections in BulkBenchmark.connectionCounts {
            guard let single = outcome.median("single", connections: connections) else { continue }
            for name in ["bulk10", "bulk100"] {
                guard let bulk = outcome.median(name, connections: connections) else { continue }
                var line =
                    "   \(name) at \(connections) connections: \(Format.rate(bulk.bidsPerSecond)) bids/s = \(Format.decimal(bulk.bidsPerSecond / max(single.bidsPerSecond, 1), places: 1))× single bids (\(Format.rate(single.bidsPerSecond))/s), p99 \(Format.milliseconds(bulk.p99)) ms per request"
                if let ceiling = outcome.databaseFullBatchRowsPerSecond, ceiling > 0 {
                    line +=
                        ", \(Format.percent(bulk.bidsPerSecond / ceiling)) of the database's full-batch \(Format.rate(ceiling)) rows/s"
                }
                Console.line(line)
            }
        }
        if let starvation = outcome.starvation {
            Console.line(
                "   single bids at \(Format.rate(starvation.singleRate))/s (open loop, \(starvation.connections) connections): p99 \(Format.milliseconds(starvation.alone.p99)) ms alone, \(Format.milliseconds(starvation.besideBulk.p99)) ms beside bulk\(starvation.bulkItemsPerRequest) requests at \(Format.rate(starvation.bulkRequestRate))/s (open loop, \(starvation.connections) more connections: \(Format.rate(starvation.bulkBidsPerSecond)) bids/s, p99 \(Format.milliseconds(starvation.bulkP99)) ms per request); p99.9 \(Format.milliseconds(starvation.alone.p999)) / \(Format.milliseconds(starvation.besideBulk.p999)) ms; non-200 \(starvation.aloneNon200) / \(starvation.besideNon200)"
            )
        }
    }
}
