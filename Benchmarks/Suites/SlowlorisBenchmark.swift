/// Normal clients' latency during a slowloris attack, against the same load without it.
///
/// For each target: an open-loop run at a fixed rate with no attack, then the same run while
/// `SlowClientAttack` holds its slow connections open against the same server (replacing each one
/// the server closes). The attacked window is longer than the server's request timeout, so the
/// slow connections are closed and replaced at least once inside it and the churn is measured too.
/// Rounds alternate the two, target after target, and the report takes medians: on a shared
/// machine, drift between two single windows can be larger than the attack's effect.
struct SlowlorisBenchmark {
    /// One round of one target, with and without the attack, as recorded in the JSON report.
    struct Outcome: Codable, Sendable {
        let target: String
        let round: Int
        let offeredRate: Double
        let connections: Int
        let quiet: HTTPRunSummary
        let attacked: HTTPRunSummary
        let attack: SlowClientAttack.Summary

        /// p99 under attack ÷ p99 without it.
        var p99Ratio: Double? { quiet.latency.p99 > 0 ? attacked.latency.p99 / quiet.latency.p99 : nil }
    }

    let settings: BenchmarkSettings
    let server: ServerProcess
    let database: BenchDatabase

    func run(_ targets: [HTTPTarget], _ report: (Outcome) -> Void) throws {
        for round in 1...max(1, settings.slowlorisRounds) {
            for target in targets { report(try measure(target, round: round)) }
        }
    }

    private func measure(_ target: HTTPTarget, round: Int) throws -> Outcome {
        let plan = LoadPlan(
            mode: .open(rate: settings.slowlorisRate), connections: settings.connections,
            warmup: settings.warmupSeconds, duration: settings.slowlorisSeconds)
        let accounting = CPUAccounting(serverPID: server.pid, postmasterPID: database.postmasterPID())
        Console.progress(
            "\(target.name): open loop at \(Format.rate(settings.slowlorisRate))/s, no attack, round \(round)…")
        let quiet = try Self.measure(target, plan, accounting)
        Console.progress(
            "\(target.name): the same under attack (\(settings.slowHeaders) header tricklers, \(settings.slowBodies) stalled bodies)…"
        )
        let attack = try SlowClientAttack(
            host: server.host, port: server.port, headerTricklers: settings.slowHeaders,
            stalledBodies: settings.slowBodies)
        attack.start()
        let attacked: HTTPRunSummary
        do {
            attacked = try Self.measure(target, plan, accounting)
        } catch {
            _ = attack.stop()
            throw error
        }
        return Outcome(
            target: target.name, round: round, offeredRate: settings.slowlorisRate,
            connections: settings.connections, quiet: quiet, attacked: attacked, attack: attack.stop())
    }

    /// One open-loop run with the CPU the server and PostgreSQL used meanwhile (the attack's own
    /// thread is counted in `SlowClientAttack.Summary`).
    private static func measure(_ target: HTTPTarget, _ plan: LoadPlan, _ accounting: CPUAccounting) throws
        -> HTTPRunSummary
    {
        let before = accounting.sample()
        let result = try LoadGenerator.run(target, plan)
        var summary = HTTPRunSummary(result)
        summary.cpu = CPUShare(
            before: before, after: accounting.sample(), generatorSeconds: result.generatorCPUSeconds,
            wallSeconds: result.wallSeconds)
        return summary
    }
}
