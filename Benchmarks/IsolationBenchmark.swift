import Foundation

/// Section 9, isolation: single bids offered at 10 % of their own closed-loop rate (open loop,
/// coordinated omission corrected, 16 connections), alone; beside a bulk client that saturates
/// (100-bid requests, closed loop, 16 more connections); and beside a key sending single bids at
/// 10× its quota (open loop, 16 more connections). Reports each p99 and p99.9, their ratios to
/// alone, the singles answered per second against those offered, and for the limited key the
/// share of its excess refused with 429 and what it stored against `rate × time + burst`.
struct IsolationBenchmark {
    /// One measurement of the single bids.
    struct Singles: Codable, Sendable {
        let latency: LatencySummary
        let offeredPerSecond: Double
        let okPerSecond: Double
        let non200: Int
    }

    struct Outcome: Codable, Sendable {
        let connections: Int
        let singleClosedLoopPerSecond: Double
        let alone: Singles
        let besideBulk: Singles
        let bulkBidsPerSecond: Double
        let besideLimited: Singles
        /// The limited key: its quota, what it offered, and how it was answered.
        let limitedRate: Int
        let limitedBurst: Int
        let limitedOfferedPerSecond: Double
        let limitedSeconds: Double
        let limitedSent: Int
        let limitedOK: Int
        let limitedRefused429: Int

        /// What the quota allows over the run: `rate × time + burst`.
        var limitedAllowed: Double { Double(limitedRate) * limitedSeconds + Double(limitedBurst) }
        /// The share of the bids beyond the allowance that got 429 (1 when there was no excess).
        var refusedShareOfExcess: Double {
            let excess = Double(limitedSent) - limitedAllowed
            return excess <= 0 ? 1 : min(1, Double(limitedRefused429) / excess)
        }
    }

    static let connections = 16
    static let singleFraction = 0.10
    /// The limited key's offered rate as a multiple of its quota.
    static let overQuota = 10.0

    let settings: BenchmarkSettings
    let server: ServerProcess
    let database: BenchDatabase
    let bulk: BulkBenchmark

    func run() throws -> Outcome {
        let single = bulk.target(items: 1)
        Console.progress("isolation: single bids, closed loop, \(Self.connections) connections…")
        try database.truncateBids()
        let closed = try LoadGenerator.run(
            single,
            LoadPlan(
                mode: .closed, connections: Self.connections, warmup: settings.warmupSeconds,
                duration: settings.closedSeconds))
        let rate = max(50, Self.singleFraction * closed.okPerSecond)
        let open = LoadPlan(
            mode: .open(rate: rate), connections: Self.connections, warmup: settings.warmupSeconds,
            duration: settings.openSeconds)

        Console.progress("isolation: single bids at \(Format.rate(rate))/s alone…")
        try database.truncateBids()
        let alone = try LoadGenerator.run(single, open)

        Console.progress("isolation: single bids at \(Format.rate(rate))/s beside saturating bulk…")
        try database.truncateBids()
        let bulkPlan = LoadPlan(
            mode: .closed, connections: Self.connections, warmup: settings.warmupSeconds + 0.5,
            duration: settings.openSeconds + 0.5)
        let bulkLoad = BulkLoadThread(target: bulk.target(items: 100), plan: bulkPlan)
        bulkLoad.start()
        Thread.sleep(forTimeInterval: 0.5)
        let besideBulk = try LoadGenerator.run(single, open)
        let bulkOutcome = try bulkLoad.wait()

        Console.progress("isolation: single bids at \(Format.rate(rate))/s beside a key at 10× its quota…")
        try database.truncateBids()
        let quota = server.limitedQuota
        let limitedRate = Double(quota.rate) * Self.overQuota
        let limitedPlan = LoadPlan(
            mode: .open(rate: limitedRate), connections: Self.connections, warmup: 0,
            duration: settings.warmupSeconds + settings.openSeconds + 1)
        let limitedLoad = BulkLoadThread(target: limitedTarget(), plan: limitedPlan)
        limitedLoad.start()
        Thread.sleep(forTimeInterval: 0.5)
        let besideLimited = try LoadGenerator.run(single, open)
        let limited = try limitedLoad.wait()

        func singles(_ result: LoadResult) -> Singles {
            Singles(
                latency: LatencySummary(result), offeredPerSecond: rate, okPerSecond: result.okPerSecond,
                non200: result.nonOKTotal)
        }
        return Outcome(
            connections: Self.connections, singleClosedLoopPerSecond: closed.okPerSecond, alone: singles(alone),
            besideBulk: singles(besideBulk), bulkBidsPerSecond: bulkOutcome.okPerSecond * 100,
            besideLimited: singles(besideLimited), limitedRate: quota.rate, limitedBurst: quota.burst,
            limitedOfferedPerSecond: limitedRate, limitedSeconds: limited.wallSeconds,
            limitedSent: limited.answeredTotal, limitedOK: limited.okTotal,
            limitedRefused429: limited.statusCounts[429] ?? 0)
    }

    /// Single bids under the limited key.
    private func limitedTarget() -> HTTPTarget {
        let headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(server.limitedKey)")]
        return HTTPTarget(
            name: "limited", host: server.host, port: server.port, method: "POST", path: "/api/bid",
            bodies: MicroBenchmarks.bodies.map { Array($0.utf8) }, headers: headers)
    }
}
