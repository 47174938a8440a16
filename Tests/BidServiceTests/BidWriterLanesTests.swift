import BidCore
import Dispatch
import HTTPServer
import Postgres
import Synchronization
import Testing

@testable import BidService
@testable import JSONRoutes

/// The writer's turn-taking between single bids and bulk groups (deficit round robin by bid
/// count), on queued groups without a database: which lane each statement serves, and how many
/// bids it carries.
@Suite struct BidWriterLanesTests {
    /// Runs `body` with a writer on a standalone loop whose connection never starts.
    static func withWriter(maxBatch: Int, _ body: @escaping @Sendable (BidWriter) -> Void) throws {
        let loop = try EventLoop.startStandalone(name: "writer-lanes")
        defer { loop.stopStandalone() }
        let done = DispatchSemaphore(value: 0)
        loop.execute {
            let connection = PostgresConnection(
                configuration: PostgresConnection.Configuration(connectionString: "host=127.0.0.1 port=1"),
                reactor: LoopReactor(loop: loop))
            body(BidWriter(connection: connection, maxBatch: maxBatch))
            done.signal()
        }
        #expect(done.wait(timeout: .now() + 10) == .success)
    }

    private static let bid: PricedBid = {
        guard
            case .success(let bid) = PricedBid.parse(
                body: Array(#"{"product_id":1,"current_cpc":"1.50","target_roas":"150"}"#.utf8))
        else { fatalError("test bid must be valid") }
        return bid
    }()

    static func queue(_ writer: BidWriter, single count: Int) {
        for _ in 0..<count { writer.lanes[BidWriter.Lane.single.rawValue].append(pending(1)) }
    }

    static func queue(_ writer: BidWriter, groups sizes: [Int]) {
        for size in sizes { writer.lanes[BidWriter.Lane.bulk.rawValue].append(pending(size)) }
    }

    static func pending(_ size: Int, deadline: Duration = .seconds(60)) -> BidWriter.Pending {
        let now = ContinuousClock.now
        return BidWriter.Pending(
            bid: bid, rest: Array(repeating: bid, count: size - 1), idempotencyKey: nil, request: nil, enqueued: now,
            deadline: now + deadline, trace: .untraced,
            answer: size == 1 ? .single({ _, _ in }) : .group({ _, _ in }))
    }

    /// Every statement until the lanes are empty, as `lane:bids`.
    private static func drain(_ writer: BidWriter) -> [String] {
        var statements: [String] = []
        while let next = writer.nextStatement() { statements.append("\(next.lane.name):\(next.bids)") }
        return statements
    }

    @Test func singlesAndBulkTakeTurnsAndBulkGroupsStayWhole() throws {
        let statements = Mutex<[String]>([])
        try Self.withWriter(maxBatch: 256) { writer in
            Self.queue(writer, groups: [100, 100, 100, 100, 100])
            Self.queue(writer, single: 300)
            statements.withLock { $0 = Self.drain(writer) }
        }
        // Singles first (their turn is next), 256 at most; then two whole 100-bid groups (a third
        // would pass 256); singles again; bulk's leftover credit (56) plus a turn's 256 sends two
        // more; then the last group.
        #expect(
            statements.withLock { $0 } == ["single:256", "bulk:200", "single:44", "bulk:200", "bulk:100"])
    }

    @Test func aSingleArrivingBehindABulkBacklogGoesInTheNextStatement() throws {
        let statements = Mutex<[String]>([])
        try Self.withWriter(maxBatch: 512) { writer in
            Self.queue(writer, groups: Array(repeating: 100, count: 20))
            var order: [String] = []
            writer.nextLane = BidWriter.Lane.bulk.rawValue
            if let first = writer.nextStatement() { order.append("\(first.lane.name):\(first.bids)") }
            Self.queue(writer, single: 1)
            if let second = writer.nextStatement() { order.append("\(second.lane.name):\(second.bids)") }
            statements.withLock { $0 = order }
        }
        #expect(statements.withLock { $0 } == ["bulk:500", "single:1"])
    }

    @Test func aGroupLargerThanABatchGoesAloneOnceItsCreditAllows() throws {
        let statements = Mutex<[String]>([])
        try Self.withWriter(maxBatch: 256) { writer in
            Self.queue(writer, groups: [600, 10])
            Self.queue(writer, single: 2)
            statements.withLock { $0 = Self.drain(writer) }
        }
        // Bulk's credit grows 256 a turn: 600 passes on its third turn, alone.
        #expect(statements.withLock { $0 } == ["single:2", "bulk:600", "bulk:10"])
    }
}

/// While single bids arrive, bulk statements are short; with none for a while, full.
@Suite struct BidWriterSharedBatchTests {
    @Test func bulkStatementsAreShortWhileSingleBidsArrive() throws {
        let statements = Mutex<[String]>([])
        try BidWriterLanesTests.withWriter(maxBatch: 512) { writer in
            BidWriterLanesTests.queue(writer, groups: Array(repeating: 10, count: 100))
            writer.nextLane = BidWriter.Lane.bulk.rawValue
            var order: [String] = []
            writer.lastSingleArrival = .now - .seconds(2)
            if let next = writer.nextStatement() { order.append("\(next.lane.name):\(next.bids)") }
            writer.lastSingleArrival = .now
            if let next = writer.nextStatement() { order.append("\(next.lane.name):\(next.bids)") }
            statements.withLock { $0 = order }
        }
        // No single bid for 2 s: a full batch (51 groups of 10); one just now: 256 at most (25 groups).
        #expect(statements.withLock { $0 } == ["bulk:510", "bulk:250"])
    }
}

/// Single bids on a connection of their own: which lane each connection serves.
@Suite struct WriterConnectionPlanTests {
    @Test func withASingleBidConnectionEachLaneHasItsOwn() {
        let plan = WriterConnectionPlan(singleBidConnection: true)
        #expect(plan.connectionCount == 2)
        #expect(plan.connection(for: .bulk) == 0)
        #expect(plan.connection(for: .single) == 1)
        #expect(plan.lanes(on: 0) == [.bulk])
        #expect(plan.lanes(on: 1) == [.single])
    }

    @Test func withOneConnectionBothLanesShareIt() {
        let plan = WriterConnectionPlan(singleBidConnection: false)
        #expect(plan.connectionCount == 1)
        #expect(plan.connection(for: .bulk) == 0)
        #expect(plan.connection(for: .single) == 0)
        #expect(plan.lanes(on: 0) == [.single, .bulk])
    }

    @Test func aConnectionTakesOnlyItsOwnLanesStatements() throws {
        let statements = Mutex<[String]>([])
        try BidWriterLanesTests.withWriter(maxBatch: 512) { writer in
            BidWriterLanesTests.queue(writer, groups: [100, 100])
            BidWriterLanesTests.queue(writer, single: 3)
            var order: [String] = []
            writer.nextLane = BidWriter.Lane.single.rawValue
            while let next = writer.nextStatement(serving: [.bulk]) { order.append("\(next.lane.name):\(next.bids)") }
            while let next = writer.nextStatement(serving: [.single]) { order.append("\(next.lane.name):\(next.bids)") }
            statements.withLock { $0 = order }
        }
        // Bulk's connection passes over the singles even on their turn; theirs then takes all three.
        #expect(statements.withLock { $0 } == ["bulk:200", "single:3"])
    }
}

/// While single bids arrive, bulk statements start only as the loop's bulk budget allows; the
/// lane waits (a timer retries it), and single bids still go.
@Suite struct BidWriterBulkBudgetTests {
    @Test func bulkWaitsForItsBudgetWhileSinglesArriveAndSinglesStillGo() throws {
        let statements = Mutex<[String]>([])
        let delays = Mutex<[Duration]>([])
        try BidWriterLanesTests.withWriter(maxBatch: 512) { writer in
            writer.limitBulk(toBidsPerSecond: 100) { delay, _ in delays.withLock { $0.append(delay) } }
            BidWriterLanesTests.queue(writer, groups: Array(repeating: 100, count: 6))
            writer.nextLane = BidWriter.Lane.bulk.rawValue
            writer.lastSingleArrival = .now
            var order: [String] = []
            func next() {
                let statement = writer.nextStatement()
                order.append(statement.map { "\($0.lane.name):\($0.bids)" } ?? "held")
            }
            next()  // 256 in the bucket: two groups (bulk statements are short beside singles), 56 left
            next()  // not in debt: two more, 144 owed
            next()  // in debt: nothing, and one retry scheduled
            next()  // still in debt: no second timer
            BidWriterLanesTests.queue(writer, single: 1)
            next()  // the single bid goes
            writer.lastSingleArrival = .now - .seconds(2)
            next()  // no single bid for 2 s: bulk is not limited
            statements.withLock { $0 = order }
        }
        #expect(statements.withLock { $0 } == ["bulk:200", "bulk:200", "held", "held", "single:1", "bulk:200"])
        let scheduled = delays.withLock { $0 }
        #expect(scheduled.count == 1)
        // 144 bids owed at 100 a second, less the microseconds between the calls.
        #expect(scheduled.allSatisfy { $0 > .milliseconds(1400) && $0 <= .milliseconds(1440) })
    }

    @Test func aHeldGroupIsRetriedByItsDeadlineWhenThatComesFirst() throws {
        let delays = Mutex<[Duration]>([])
        try BidWriterLanesTests.withWriter(maxBatch: 512) { writer in
            writer.limitBulk(toBidsPerSecond: 100) { delay, _ in delays.withLock { $0.append(delay) } }
            writer.lastSingleArrival = .now
            BidWriterLanesTests.queue(writer, groups: [256, 100])
            _ = writer.nextStatement()  // the bucket's 256: none left, not in debt
            _ = writer.nextStatement()  // 100 owed now
            writer.lanes[BidWriter.Lane.bulk.rawValue].append(
                BidWriterLanesTests.pending(10, deadline: .milliseconds(200)))
            #expect(writer.nextStatement().map { $0.bids } == nil)
        }
        let scheduled = delays.withLock { $0 }
        // 100 bids owed at 100 a second is 1 s; the group must be answered within 200 ms.
        #expect(scheduled.count == 1)
        #expect(scheduled.allSatisfy { $0 > .zero && $0 <= .milliseconds(200) })
    }
}
