import BidCore
import BidService
import Dispatch
import HTTPServer
import JSONRoutes
import Postgres

#if canImport(Glibc)
    import Glibc
#endif

/// The database's share of the bid path alone: the same bids through the same `BidWriter`
/// (same statement, same adaptive batching), on standalone event loops, with no HTTP.
///
/// Like the server, there is one loop per server thread, each with its own connection and
/// writer, and the closed-loop clients are split across them. A client's next bid is handed in
/// through `execute` — a later loop iteration, as a request arriving over a socket would be —
/// so batches form the way they form in the server.
enum DatabaseCeiling {
    struct Outcome: Codable, Sendable {
        let name: String
        let loops: Int
        let clientsPerLoop: Int
        let maxBatch: Int
        let seconds: Double
        let rowsPerSecond: Double
        let acknowledgedTotal: Int
        let failures: Int
        let rowsInDatabase: Int
        let batchSizes: BatchSizes
        /// Cores used by the writer loops (`server`: this process) and by PostgreSQL.
        let cpu: CPUShare?
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func run(
        name: String, connectionString: String, loops: Int, clientsPerLoop: Int, maxBatch: Int,
        warmup: Double, duration: Double, bids: [PricedBid], database: BenchDatabase
    ) throws -> Outcome {
        try database.truncateBids()
        var drivers: [Driver] = []
        defer {
            for driver in drivers { driver.tearDown() }
        }
        for index in 0..<loops {
            let loop = try EventLoop.startStandalone(name: "bench-db-\(index)")
            let driver = Driver(loop: loop, connectionString: connectionString, maxBatch: maxBatch, bids: bids)
            drivers.append(driver)
            driver.connect()
        }
        for driver in drivers where !driver.waitUntilConnected(seconds: 15) {
            throw Failure(description: "the database ceiling's connections did not come up within 15 s")
        }
        let accounting = CPUAccounting(serverPID: getpid(), postmasterPID: database.postmasterPID())
        let cpuBefore = accounting.sample()
        let start = MonotonicClock.now()
        let measureFrom = start + UInt64(warmup * 1e9)
        let end = measureFrom + UInt64(duration * 1e9)
        for driver in drivers { driver.start(clients: clientsPerLoop, measureFrom: measureFrom, end: end) }
        for driver in drivers { driver.waitUntilDone() }
        let cpuAfter = accounting.sample()
        let wall = Double(MonotonicClock.now() - start) / 1e9

        var batchCounts: [Int: Int] = [:]
        for driver in drivers {
            batchCounts.merge(driver.batchCounts, uniquingKeysWith: +)
        }
        let inWindow = drivers.reduce(0) { $0 + $1.acknowledgedInWindow }
        return Outcome(
            name: name, loops: loops, clientsPerLoop: clientsPerLoop, maxBatch: maxBatch, seconds: duration,
            rowsPerSecond: Double(inWindow) / duration,
            acknowledgedTotal: drivers.reduce(0) { $0 + $1.acknowledgedTotal },
            failures: drivers.reduce(0) { $0 + $1.failures },
            rowsInDatabase: try database.bidCount(),
            batchSizes: BatchSizes(source: "BidWriter.onBatchFinished", countsBySize: batchCounts),
            cpu: CPUShare(before: cpuBefore, after: cpuAfter, generatorSeconds: 0, wallSeconds: wall))
    }
}

extension DatabaseCeiling {
    /// One loop's connection, writer and clients.
    ///
    /// Everything mutable is touched on the loop thread while it runs; the main thread reads the
    /// counters only after `done` was signalled from that thread (the semaphore orders the two).
    fileprivate final class Driver: @unchecked Sendable {
        let loop: EventLoop
        private let connectionString: String
        private let maxBatch: Int
        private let bids: [PricedBid]
        private var connection: PostgresConnection?
        private var writer: BidWriter?
        private let connected = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)
        private var measureFrom: UInt64 = 0
        private var end: UInt64 = 0
        private var activeClients = 0
        private var sequence = 0

        private(set) var acknowledgedInWindow = 0
        private(set) var acknowledgedTotal = 0
        private(set) var failures = 0
        private(set) var batchCounts: [Int: Int] = [:]

        init(loop: EventLoop, connectionString: String, maxBatch: Int, bids: [PricedBid]) {
            self.loop = loop
            self.connectionString = connectionString
            self.maxBatch = maxBatch
            self.bids = bids
        }

        func connect() {
            loop.execute { [self] in
                var configuration = PostgresConnection.Configuration(connectionString: connectionString)
                // Saturated runs queue thousands of bids: give statements room before calling it a failure.
                configuration.statementTimeout = .seconds(30)
                let connection = PostgresConnection(configuration: configuration, reactor: LoopReactor(loop: loop))
                let writer = BidWriter(
                    connection: connection, maxBatch: maxBatch,
                    maxPending: 1_000_000)
                writer.onBatchFinished = { [self] size, _, _ in batchCounts[size, default: 0] += 1 }
                self.connection = connection
                self.writer = writer
                connection.start()
                pollConnected()
            }
        }

        private func pollConnected() {
            if connection?.isConnected == true {
                connected.signal()
            } else {
                loop.schedule(after: .milliseconds(5)) { [self] in pollConnected() }
            }
        }

        func waitUntilConnected(seconds: Double) -> Bool {
            connected.wait(timeout: .now() + seconds) == .success
        }

        func start(clients: Int, measureFrom: UInt64, end: UInt64) {
            loop.execute { [self] in
                self.measureFrom = measureFrom
                self.end = end
                activeClients = clients
                for _ in 0..<clients { submitOne() }
            }
        }

        func waitUntilDone() {
            done.wait()
        }

        private func submitOne() {
            guard let writer else { return }
            let bid = bids[sequence % bids.count]
            sequence &+= 1
            writer.submit(bid) { [self] outcome, _ in
                let now = MonotonicClock.now()
                if case .success = outcome {
                    acknowledgedTotal += 1
                    if now >= measureFrom, now <= end { acknowledgedInWindow += 1 }
                } else {
                    failures += 1
                }
                if now < end {
                    loop.execute { [self] in submitOne() }
                } else {
                    activeClients -= 1
                    if activeClients == 0 { done.signal() }
                }
            }
        }

        /// Closes the connection on its loop, then stops the loop and joins its thread.
        func tearDown() {
            let closed = DispatchSemaphore(value: 0)
            loop.execute { [self] in
                connection?.close()
                writer = nil
                connection = nil
                closed.signal()
            }
            _ = closed.wait(timeout: .now() + 5)
            loop.stopStandalone()
        }
    }
}
