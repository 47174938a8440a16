import Postgres
import Testing

@testable import JSONRoutes

/// The rate limit of the database-failure log, on a hand-moved clock and hand-fired timers.
@Suite struct DatabaseFailureLogTests {
    /// Timers that fire only when the test says so.
    final class ManualReactor: PostgresReactor {
        final class Timer: PostgresTimer {
            let body: () -> Void
            var cancelled = false
            init(_ body: @escaping () -> Void) { self.body = body }
            func cancel() { cancelled = true }
        }

        final class NoWatch: PostgresSocketWatch {
            func setInterest(readable: Bool, writable: Bool) {}
            func cancel() {}
        }

        var timers: [(delay: Duration, timer: Timer)] = []

        func watch(fd: Int32, onReady: @escaping (Bool, Bool) -> Void) -> any PostgresSocketWatch { NoWatch() }

        func after(_ delay: Duration, _ body: @escaping () -> Void) -> any PostgresTimer {
            let timer = Timer(body)
            timers.append((delay, timer))
            return timer
        }

        func fireAll() {
            let due = timers.filter { !$0.timer.cancelled }
            timers = []
            for entry in due { entry.timer.body() }
        }
    }

    final class ManualClock {
        var now = ContinuousClock.now
    }

    private let error = PostgresError(.query, "refused by test", sqlState: "P0001")

    @Test func atMostTheLimitPerIntervalThenOneLineWithTheCountOfTheRest() {
        let captured = CapturedLog()
        let reactor = ManualReactor()
        let clock = ManualClock()
        let log = DatabaseFailureLog(
            logger: captured.logger(), loop: "loop-0", connectionString: "host=/tmp password=hunter2",
            reactor: reactor, limit: .init(lines: 3, interval: .seconds(10)), now: { clock.now })
        for bids in 1...5 { log.statementFailed(error, statement: "bid insert", bids: bids) }
        let line: [String: String] = [
            "loop": "loop-0", "kind": "query", "sqlstate": "P0001", "error": "refused by test",
            "statement": "bid insert",
        ]
        #expect(
            captured.all
                == [1, 2, 3].map { bids in
                    .init(
                        level: .warning, message: "database statement failed",
                        metadata: line.merging(["bids": "\(bids)"]) { $1 })
                })
        #expect(reactor.timers.map(\.delay) == [.seconds(10)])

        clock.now += .seconds(10)
        reactor.fireAll()
        #expect(
            captured.all.last
                == .init(
                    level: .warning, message: "database failures suppressed",
                    metadata: ["loop": "loop-0", "suppressed": "2", "bids": "9", "interval_s": "10", "logged": "3"]))

        // A new interval logs again; a lost connection's password never reaches the log.
        log.connectionFailed(PostgresError(.connection, "password authentication failed: hunter2"))
        #expect(
            captured.all.last
                == .init(
                    level: .warning, message: "database connection failed",
                    metadata: [
                        "loop": "loop-0", "kind": "connection", "sqlstate": "",
                        "error": "password authentication failed: ****",
                    ]))
        #expect(captured.all.count == 5)
    }

    @Test func nothingSuppressedNoSummary() {
        let captured = CapturedLog()
        let reactor = ManualReactor()
        let clock = ManualClock()
        let log = DatabaseFailureLog(
            logger: captured.logger(), loop: "loop-1", connectionString: "", reactor: reactor,
            limit: .init(lines: 2, interval: .seconds(10)), now: { clock.now })
        log.statementFailed(error, statement: "read", bids: 0)
        clock.now += .seconds(11)
        log.statementFailed(error, statement: "read", bids: 0)
        log.statementFailed(error, statement: "read", bids: 0)
        #expect(captured.all.map(\.message) == Array(repeating: "database statement failed", count: 3))
        #expect(reactor.timers.isEmpty)
    }

    @Test func aLoopThatStopsWithinAnIntervalStillReportsWhatItSuppressed() {
        let captured = CapturedLog()
        let reactor = ManualReactor()
        var log: DatabaseFailureLog? = DatabaseFailureLog(
            logger: captured.logger(), loop: "loop-2", connectionString: "", reactor: reactor,
            limit: .init(lines: 1, interval: .seconds(10)))
        log?.statementFailed(error, statement: "bid insert", bids: 4)
        log?.statementFailed(error, statement: "bid insert", bids: 5)
        log = nil
        #expect(
            captured.all.last
                == .init(
                    level: .warning, message: "database failures suppressed",
                    metadata: ["loop": "loop-2", "suppressed": "1", "bids": "5", "interval_s": "10", "logged": "1"]))
        #expect(reactor.timers.map(\.timer.cancelled) == [true])
    }
}
