import Foundation

/// Section 6, bulk: bids through `POST /api/bids/batch` at 10 and 100 items per request and at
/// 16 and 64 connections, against single `POST /api/bid` bids at the same connections, in
/// interleaved closed-loop rounds; then the p99 of single bids offered at a fixed rate (a quarter of
/// their own closed-loop rate), alone and with 100-bid bulk requests offered beside them at half
/// of theirs, on the same server (starvation check).
///
/// Every request carries valid bids only, so bids/s = 200 answers/s × items; after each run the
/// rows of `bids` are checked against that. The database's full-batch rate (section 4,
/// `saturated`) is the ceiling the bulk figures are compared with.
struct BulkBenchmark {
    struct Run: Codable, Sendable {
        /// `single`, `bulk10`, `bulk100`.
        let name: String
        let itemsPerRequest: Int
        let connections: Int
        let round: Int
        let requestsPerSecond: Double
        let bidsPerSecond: Double
        /// Per request (a bulk request's latency covers all its items).
        let latency: LatencySummary
        let non200: Int
        let rowCheck: RowCheck
    }

    struct Starvation: Codable, Sendable {
        /// Single bids offered per second (open loop, coordinated omission corrected).
        let singleRate: Double
        let connections: Int
        let alone: LatencySummary
        let besideBulk: LatencySummary
        let aloneNon200: Int
        let besideNon200: Int
        /// Bulk requests offered per second beside them (open loop), what got through, and their p99.
        let bulkRequestRate: Double
        let bulkBidsPerSecond: Double
        let bulkP99: Double
        let bulkItemsPerRequest: Int
    }

    struct Outcome: Codable, Sendable {
        var runs: [Run] = []
        var starvation: Starvation?
        /// Section 4's `saturated` figure, when that section ran.
        var databaseFullBatchRowsPerSecond: Double?

        /// Median over the rounds of one shape.
        func median(_ name: String, connections: Int) -> (bidsPerSecond: Double, p99: Double)? {
            let matching = runs.filter { $0.name == name && $0.connections == connections }
            guard let bids = matching.map(\.bidsPerSecond).median, let p99 = matching.map(\.latency.p99).median
            else { return nil }
            return (bids, p99)
        }
    }

    static let itemCounts = [1, 10, 100]
    static let connectionCounts = [16, 64]
    static let starvationConnections = 16
    /// Single bids are offered at this fraction of their own closed-loop rate at 16 connections
    /// (measured just before), so they are well inside capacity on any machine.
    static let starvationFraction = 0.25
    /// Bulk requests beside them at this fraction of their own closed-loop rate: together the two
    /// stay below capacity, so a rise in the singles' p99 is interference, not a full queue.
    static let bulkFraction = 0.5

    let settings: BenchmarkSettings
    let server: ServerProcess
    let database: BenchDatabase

    func target(items: Int) -> HTTPTarget {
        let headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(server.apiKey)")]
        if items == 1 {
            return HTTPTarget(
                name: "single", host: server.host, port: server.port, method: "POST", path: "/api/bid",
                bodies: MicroBenchmarks.bodies.map { Array($0.utf8) }, headers: headers)
        }
        // Eight different bodies, each `items` bids taken in turn from the benchmark's bid bodies.
        let bodies = (0..<8).map { variant in
            let bids = (0..<items).map { MicroBenchmarks.bodies[(variant * items + $0) % MicroBenchmarks.bodies.count] }
            return Array((#"{"bids":["# + bids.joined(separator: ",") + "]}").utf8)
        }
        return HTTPTarget(
            name: "bulk\(items)", host: server.host, port: server.port, method: "POST", path: "/api/bids/batch",
            bodies: bodies, headers: headers)
    }

    func run(_ report: (Run) -> Void) throws -> (runs: [Run], starvation: Starvation?) {
        var runs: [Run] = []
        for round in 1...settings.rounds {
            for connections in Self.connectionCounts {
                for items in Self.itemCounts {
                    let run = try measure(items: items, connections: connections, round: round)
                    runs.append(run)
                    report(run)
                }
            }
        }
        func closedRate(_ name: String) -> Double? {
            runs.filter { $0.name == name && $0.connections == Self.starvationConnections }.map(\.requestsPerSecond)
                .median
        }
        let singleRate = max(50, Self.starvationFraction * (closedRate("single") ?? 200))
        let bulkRate = max(5, Self.bulkFraction * (closedRate("bulk100") ?? 20))
        return (runs, try starvation(singleRate: singleRate, bulkRate: bulkRate))
    }

    private func measure(items: Int, connections: Int, round: Int) throws -> Run {
        let target = target(items: items)
        Console.progress("\(target.name): closed loop, \(connections) connections, round \(round)…")
        try database.truncateBids()
        let plan = LoadPlan(
            mode: .closed, connections: connections, warmup: settings.warmupSeconds, duration: settings.closedSeconds)
        let result = try LoadGenerator.run(target, plan)
        if result.unanswered > 0 { sleep(2) }
        return Run(
            name: target.name, itemsPerRequest: items, connections: connections, round: round,
            requestsPerSecond: result.okPerSecond, bidsPerSecond: result.okPerSecond * Double(items),
            latency: LatencySummary(result), non200: result.nonOKTotal,
            rowCheck: RowCheck(acknowledged: result.okTotal * items, rows: try database.bidCount()))
    }

    /// Single bids at a fixed rate, alone and then with 100-item bulk requests beside them (closed
    /// loop, as fast as the server takes them), on the same server and loops.
    private func starvation(singleRate: Double, bulkRate: Double) throws -> Starvation {
        let connections = Self.starvationConnections
        let single = target(items: 1)
        let bulk = target(items: 100)
        let open = LoadPlan(
            mode: .open(rate: singleRate), connections: connections, warmup: settings.warmupSeconds,
            duration: settings.openSeconds)
        Console.progress("single bids at \(Format.rate(singleRate))/s alone…")
        try database.truncateBids()
        let alone = try LoadGenerator.run(single, open)
        Console.progress("single bids at \(Format.rate(singleRate))/s beside bulk100 requests…")
        try database.truncateBids()
        // The bulk load starts first and ends last, so it covers the singles' whole window.
        let bulkPlan = LoadPlan(
            mode: .open(rate: bulkRate), connections: connections, warmup: settings.warmupSeconds + 0.5,
            duration: settings.openSeconds + 0.5)
        let bulkResult = BulkLoadThread(target: bulk, plan: bulkPlan)
        bulkResult.start()
        Thread.sleep(forTimeInterval: 0.5)
        let beside = try LoadGenerator.run(single, open)
        let bulkOutcome = try bulkResult.wait()
        return Starvation(
            singleRate: singleRate, connections: connections, alone: LatencySummary(alone),
            besideBulk: LatencySummary(beside), aloneNon200: alone.nonOKTotal, besideNon200: beside.nonOKTotal,
            bulkRequestRate: bulkRate, bulkBidsPerSecond: bulkOutcome.okPerSecond * 100,
            bulkP99: bulkOutcome.latencyMilliseconds(percentile: 99), bulkItemsPerRequest: 100)
    }
}

/// A load run on a thread of its own, for two loads at once.
final class BulkLoadThread: @unchecked Sendable {
    private let target: HTTPTarget
    private let plan: LoadPlan
    private let done = DispatchSemaphore(value: 0)
    // Written by the thread before `done` is signalled, read after `wait`.
    private var outcome: Result<LoadResult, any Error>?

    init(target: HTTPTarget, plan: LoadPlan) {
        self.target = target
        self.plan = plan
    }

    func start() {
        Thread.detachNewThread { [self] in
            outcome = Result { try LoadGenerator.run(target, plan) }
            done.signal()
        }
    }

    func wait() throws -> LoadResult {
        done.wait()
        return try outcome!.get()
    }
}
