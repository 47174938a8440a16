import Glibc

/// The end-to-end runs: closed-loop throughput rounds, then open-loop latency at fractions of
/// the bid path's maximum, each against the bid path, the fixed-response ceiling and, when
/// given, a baseline server — interleaved, so that drift on the machine hits all of them alike.
struct HTTPBenchmarks {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let settings: BenchmarkSettings
    let server: ServerProcess
    let database: BenchDatabase
    let targets: [HTTPTarget]
    private let postmasterPID: pid_t?

    init(settings: BenchmarkSettings, server: ServerProcess, database: BenchDatabase) throws {
        self.settings = settings
        self.server = server
        self.database = database
        postmasterPID = database.postmasterPID()
        let bodies = MicroBenchmarks.bodies.map { Array($0.utf8) }
        let json = [("Content-Type", "application/json")]
        var targets = [
            HTTPTarget(
                name: "bid", host: server.host, port: server.port, method: "POST", path: "/api/bid", bodies: bodies,
                headers: json + [("Authorization", "Bearer \(server.apiKey)")]),
            HTTPTarget(
                name: "ceiling", host: server.host, port: server.port, method: "POST", path: "/bench/ceiling",
                bodies: bodies, headers: json),
        ]
        if let url = settings.baselineURL {
            let (host, port, path) = try HTTPTarget.parse(url: url)
            targets.append(
                HTTPTarget(
                    name: "baseline", host: host, port: port, method: settings.baselineMethod, path: path,
                    bodies: bodies, headers: json))
        }
        self.targets = targets
    }

    /// One request to each target before measuring: a wrong key, a server without
    /// `--bench-endpoints` or a dead baseline fails here with a clear message, not as a table of 4xx.
    func preflight() throws {
        for target in targets {
            let body = target.method == "GET" || target.method == "HEAD" ? [] : target.bodies[0]
            let response = try BlockingHTTPClient.request(
                host: target.host, port: target.port, method: target.method, path: target.path, headers: target.headers,
                body: body)
            guard (200..<300).contains(response.status) else {
                throw Failure(
                    description:
                        "\(target.method) \(target.path) on \(target.host):\(target.port) answered \(response.status):\n\(response.text)"
                )
            }
        }
    }

    /// Closed-loop rounds; returns every run (the caller prints and records them).
    func throughputRounds(_ report: (HTTPRunSummary) -> Void) throws {
        for round in 1...settings.rounds {
            for connections in settings.connectionSweep ?? [settings.connections] {
                for target in targets {
                    let plan = LoadPlan(
                        mode: .closed, connections: connections, warmup: settings.warmupSeconds,
                        duration: settings.closedSeconds)
                    report(try measure(target, plan, fractionOfMax: nil, round: round))
                }
            }
        }
    }

    /// Open-loop runs at each fraction of `maximum` (the bid path's median closed-loop rate).
    /// Every target gets the same absolute rates, so their latencies compare at equal load.
    func latencyRuns(maximum: Double, _ report: (HTTPRunSummary) -> Void) throws {
        for fraction in settings.rateFractions {
            for target in targets {
                let plan = LoadPlan(
                    mode: .open(rate: fraction * maximum), connections: settings.connections,
                    warmup: settings.warmupSeconds, duration: settings.openSeconds)
                report(try measure(target, plan, fractionOfMax: fraction, round: nil))
            }
        }
    }

    private func measure(_ target: HTTPTarget, _ plan: LoadPlan, fractionOfMax: Double?, round: Int?) throws
        -> HTTPRunSummary
    {
        switch plan.mode {
        case .closed:
            Console.progress("\(target.name): closed loop, \(plan.connections) connections, round \(round ?? 1)…")
        case .open(let rate): Console.progress("\(target.name): open loop at \(Format.rate(rate))/s…")
        }
        let isBidPath = target.name == "bid"
        var metricsBefore: MetricsScrape?
        var checkpointsBefore: Int?
        if isBidPath {
            try database.truncateBids()
            metricsBefore = MetricsScrape.fetch(host: server.host, port: server.port)
            checkpointsBefore = database.checkpointCount()
        }
        let accounting = CPUAccounting(serverPID: server.pid, postmasterPID: postmasterPID)
        let cpuBefore = accounting.sample()
        let result = try LoadGenerator.run(target, plan)
        let cpuAfter = accounting.sample()
        var summary = HTTPRunSummary(result, fractionOfMax: fractionOfMax, round: round)
        // A baseline runs elsewhere: our server's and cluster's CPU say nothing about it.
        if target.name != "baseline" {
            summary.cpu = CPUShare(
                before: cpuBefore, after: cpuAfter, generatorSeconds: result.generatorCPUSeconds,
                wallSeconds: result.wallSeconds)
        }
        if isBidPath {
            // Bids answered after the drain timeout may still commit: give them a moment.
            if result.unanswered > 0 { sleep(2) }
            summary.rowCheck = RowCheck(acknowledged: result.okTotal, rows: try database.bidCount())
            summary.batchSizes = try database.batchSizes()
            summary.metricsBatchSizes = MetricsScrape.fetch(host: server.host, port: server.port)?.since(metricsBefore)
            summary.checkpoints = database.checkpointCount().flatMap { after in checkpointsBefore.map { after - $0 } }
        }
        return summary
    }
}
