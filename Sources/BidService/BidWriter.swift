public import BidCore
public import HTTPServer
public import Postgres
import TextFormats

/// Records bids on one event loop's connection with adaptive batching and several writes in flight.
///
/// A bid that arrives while fewer than `maxInFlight` of the writer's statements are in flight goes
/// out at once in a statement of its own (the connection pipelines it behind the others, and
/// PostgreSQL's group commit merges the fsyncs of statements that commit together). When the
/// bound is reached, arriving bids wait and go together in the next statement, one commit for
/// all: batches still form under load, and a lone request pays a single round trip. A bid is
/// acknowledged only when the statement that carries it has committed. Each statement is its
/// own transaction, so a failed statement fails only its own bids.
///
/// The unit of the queue is a group: bids that must commit together (one bid from `POST
/// /api/bid`; several from a bulk request). A group is never split across statements, so it is
/// stored all or nothing, and it is answered once, after its statement commits. Single bids and
/// bulk groups wait in separate lanes served in turn (`BidWriter+Lanes.swift`), so a bulk
/// backlog does not stand in front of single bids; with a second connection, single bids'
/// statements go there and never wait for a bulk statement in flight.
///
/// Every bid is answered within the connection's statement timeout of its own arrival: a group
/// that waited behind slow writes and has no time left is failed without being sent, and a
/// statement's deadline is that of the oldest group in it. Loop-thread only.
public final class BidWriter {
    public enum WriteError: Error, Sendable, Equatable {
        /// Too many bids already waiting on this loop: shed load rather than queue without bound.
        case overloaded
        /// The database did not confirm the write (down, timed out, or refused it).
        case databaseUnavailable(String)
        /// The idempotency key was first used with a different request.
        case keyReusedWithDifferentRequest
    }

    public enum Recorded: Sendable, Equatable {
        /// Stored now.
        case stored(bidID: Int64)
        /// The idempotency key had already recorded this request: the original answer.
        case replayed(bidID: Int64, adjustedCPC: String)
    }

    /// The outcome, and when its moments happened (for Server-Timing and spans).
    public typealias Completion = (Result<Recorded, WriteError>, WriteTiming) -> Void
    /// For a group: one `Recorded` per bid, in the group's order, or one error for all.
    public typealias GroupCompletion = (Result<[Recorded], WriteError>, WriteTiming) -> Void

    /// Observes batches (for metrics): size, and the round-trip time of the statement.
    public var onBatchFinished: ((_ size: Int, _ roundTrip: Duration, _ succeeded: Bool) -> Void)?
    /// Observes statements that carried a sampled request (for their spans), as they finish.
    public var onTracedStatementFinished: ((TracedStatement, WriteTiming, _ rows: Int, _ succeeded: Bool) -> Void)?
    /// Observes each group as its statement starts: its lane and how long it waited in the writer.
    public var onQueueWait: ((_ lane: Lane, _ waited: Duration) -> Void)?
    /// Observes why bids were not acknowledged (for the log): the database's error, which
    /// statement it failed, and how many bids that statement carried.
    var onStatementFailed: ((_ error: PostgresError, _ statement: String, _ bids: Int) -> Void)?

    /// One unit of the queue: bids that commit together, answered together.
    ///
    /// A class: a group passes through the queue, a statement's batch and its completion, and
    /// copying its eight fields at each step cost more than the bid's own parsing.
    final class Pending {
        enum Answer {
            case single(Completion)
            case group(GroupCompletion)
        }

        let bid: PricedBid
        /// The group's other bids (empty for a single bid: no allocation).
        let rest: [PricedBid]
        /// Claimed for the whole group, on its first bid's row.
        let idempotencyKey: String?
        /// What "the same request" means for the key when the caller knows more than the bids (a
        /// bulk request's mode and rejected items); nil: the bids' fields (`BidInsert.canonicalRequest`).
        let request: String?
        /// When it entered the writer's queue.
        let enqueued: ContinuousClock.Instant
        /// The latest moment its answer may be given: arrival plus the statement timeout.
        let deadline: ContinuousClock.Instant
        /// The request's trace: a sampled one gets its statement's span.
        let trace: TraceContext
        let answer: Answer

        init(
            bid: PricedBid, rest: [PricedBid], idempotencyKey: String?, request: String?,
            enqueued: ContinuousClock.Instant, deadline: ContinuousClock.Instant, trace: TraceContext, answer: Answer
        ) {
            self.bid = bid
            self.rest = rest
            self.idempotencyKey = idempotencyKey
            self.request = request
            self.enqueued = enqueued
            self.deadline = deadline
            self.trace = trace
            self.answer = answer
        }

        var lane: Lane {
            switch answer {
            case .single: .single
            case .group: .bulk
            }
        }

        var count: Int { 1 + rest.count }

        /// `sent`: when the statement that carried it went out, if one did; `finished`: when its
        /// result arrived (one moment for all the groups of a statement).
        func fail(
            _ error: WriteError, sent: ContinuousClock.Instant? = nil, finished: ContinuousClock.Instant = .now,
            statement: TracedStatement? = nil
        ) {
            let timing = WriteTiming(enqueued: enqueued, sent: sent, finished: finished, statement: statement)
            switch answer {
            case .single(let completion): completion(.failure(error), timing)
            case .group(let completion): completion(.failure(error), timing)
            }
        }

        /// `rows` are the group's rows (the first is `first`'s); empty for a replay.
        func succeed(
            first: Recorded, rows: ArraySlice<BidInsert.Row>, sent: ContinuousClock.Instant,
            finished: ContinuousClock.Instant = .now, statement: TracedStatement? = nil
        ) {
            let timing = WriteTiming(enqueued: enqueued, sent: sent, finished: finished, statement: statement)
            switch answer {
            case .single(let completion): completion(.success(first), timing)
            case .group(let completion):
                completion(.success([first] + rows.dropFirst().map { .stored(bidID: $0.id) }), timing)
            }
        }
    }

    /// The connections the writer's statements go on (`plan` says which lane uses which).
    let connections: [PostgresConnection]
    let plan: WriterConnectionPlan
    /// The connection of bulk groups and idempotency lookups.
    var connection: PostgresConnection { connections[0] }
    let maxBatch: Int
    /// Bids that may wait in each lane; beyond it a group is refused at once (503).
    private let maxPending: Int
    /// The writer's statements in flight at once on the connection (measured: docs/performance.md).
    let maxInFlight: Int
    /// Waiting groups by lane (`Lane.rawValue`), and the lane whose turn is next.
    var lanes = [BidWriteQueue](repeating: BidWriteQueue(), count: Lane.allCases.count)
    var nextLane = 0
    /// When the last single bid entered the queue (bulk statements stay short for a while after).
    var lastSingleArrival: ContinuousClock.Instant?
    /// The most bids in a bulk statement while single bids are arriving.
    let sharedBulkBatch: Int
    /// Statements in flight on each connection.
    private var statementsInFlight: [Int]
    /// Bulk's budget while single bids arrive (`BidWriter+BulkBudget.swift`); nil: not limited.
    var bulkBudget: BulkBudget?
    /// Runs a body on the writer's loop after a delay (the bulk budget's retry).
    var scheduleOnLoop: ((Duration, @escaping () -> Void) -> Void)?
    var bulkRetryPending = false

    /// `singleBidConnection`: a connection for single bids alone; without it both lanes share
    /// `connection`.
    public init(
        connection: PostgresConnection, singleBidConnection: PostgresConnection? = nil, maxBatch: Int = 512,
        maxPending: Int = 8192, maxInFlight: Int = 1
    ) {
        connections = [connection] + (singleBidConnection.map { [$0] } ?? [])
        plan = WriterConnectionPlan(singleBidConnection: singleBidConnection != nil)
        statementsInFlight = Array(repeating: 0, count: plan.connectionCount)
        self.maxBatch = maxBatch
        self.maxPending = maxPending
        self.maxInFlight = max(1, maxInFlight)
        sharedBulkBatch = max(1, maxBatch / 2)
    }

    /// Bids accepted and not yet sent.
    public var pendingCount: Int { lanes.reduce(0) { $0 + $1.bids } }

    /// Records `bid`; with an idempotency key, at most once per key.
    public func submit(
        _ bid: PricedBid, idempotencyKey: String? = nil, trace: TraceContext = .untraced,
        completion: @escaping Completion
    ) {
        enqueue(bid, rest: [], idempotencyKey: idempotencyKey, request: nil, trace: trace, answer: .single(completion))
    }

    /// Records `bids` together: one statement, one transaction, all or none; answered once after
    /// the commit. With an idempotency key, at most once per key for the whole group (a repeat is
    /// answered with every bid's original id and price as `.replayed`, and nothing is stored);
    /// `request`, when given, is what a repeat must match instead of the bids' fields.
    public func submit(
        group bids: [PricedBid], idempotencyKey: String? = nil, request: String? = nil,
        trace: TraceContext = .untraced, completion: @escaping GroupCompletion
    ) {
        guard let first = bids.first else {
            completion(.success([]), .immediate())
            return
        }
        enqueue(
            first, rest: Array(bids.dropFirst()), idempotencyKey: idempotencyKey, request: request, trace: trace,
            answer: .group(completion))
    }

    private func enqueue(
        _ bid: PricedBid, rest: [PricedBid], idempotencyKey: String?, request: String?, trace: TraceContext,
        answer: Pending.Answer
    ) {
        let now = ContinuousClock.now
        let pending = Pending(
            bid: bid, rest: rest, idempotencyKey: idempotencyKey, request: request, enqueued: now,
            deadline: now + connection.statementTimeout, trace: trace, answer: answer)
        let lane = pending.lane.rawValue
        guard lanes[lane].bids + pending.count <= maxPending else {
            pending.fail(.overloaded)
            return
        }
        lanes[lane].append(pending)
        if lane == Lane.single.rawValue { lastSingleArrival = now }
        startNextStatement(on: plan.connection(for: pending.lane))
    }

    /// Starts connection `index`'s next statement if it has room for one.
    func startNextStatement(on index: Int) {
        if statementsInFlight[index] < maxInFlight { writeNextBatch(on: index) }
    }

    private func writeNextBatch(on index: Int) {
        // One clock read decides what has expired, what the lanes may send, and when it went out.
        let started = ContinuousClock.now
        failExpired(now: started)
        guard let (lane, batch, bids) = nextStatement(serving: plan.lanes(on: index), now: started) else { return }
        statementsInFlight[index] += 1
        if let onQueueWait {
            for pending in batch { onQueueWait(lane, pending.enqueued.duration(to: started)) }
        }
        let statement = BidInsert.statement(for: batch, bids: bids)
        let traced =
            onTracedStatementFinished == nil
            ? nil : TracedStatement.make(traces: batch.lazy.map(\.trace), bids: bids, groups: batch.count)
        // Groups queue in arrival order within a lane, so the first one's deadline is the batch's.
        connections[index].query(
            statement.sql, statement.parameters, preparedAs: statement.name, deadline: batch[0].deadline
        ) { [weak self] outcome in
            self?.finish(batch, on: index, bids: bids, outcome: outcome, started: started, traced: traced)
        }
    }

    private func finish(
        _ batch: [Pending], on index: Int, bids: Int, outcome: Result<PostgresResult, PostgresError>,
        started: ContinuousClock.Instant, traced: TracedStatement?
    ) {
        statementsInFlight[index] -= 1
        // One clock read for the statement, not one per bid it carried.
        let finished = ContinuousClock.now
        let rows = outcome.flatMap { BidInsert.rows(from: $0, expected: bids) }
        onBatchFinished?(bids, started.duration(to: finished), (try? rows.get()) != nil)
        if let traced {
            let timing = WriteTiming(enqueued: batch[0].enqueued, sent: started, finished: finished, statement: traced)
            onTracedStatementFinished?(traced, timing, (try? rows.get())?.count ?? 0, (try? rows.get()) != nil)
        }
        switch rows {
        case .success(let rows):
            var repeated: [Pending] = []
            var index = 0
            for pending in batch {
                let head = rows[index]
                if head.fresh {
                    pending.succeed(
                        first: .stored(bidID: head.id), rows: rows[index..<index + pending.count], sent: started,
                        finished: finished, statement: traced)
                } else {
                    repeated.append(pending)
                }
                index += pending.count
            }
            if !repeated.isEmpty { answerRepeats(repeated, sent: started) }
        case .failure(let error):
            onStatementFailed?(error, "bid insert", bids)
            for pending in batch {
                pending.fail(
                    .databaseUnavailable(error.description), sent: started, finished: finished, statement: traced)
            }
        }
        startNextStatement(on: index)
    }

    static let notSent = PostgresError(.timeout, "bids waited behind slower writes until no time was left; not sent")

    /// Bids that waited behind a slow write until no time was left: never sent, so not stored.
    private func failExpired(now: ContinuousClock.Instant) {
        for lane in lanes.indices {
            while let first = lanes[lane].first, first.deadline <= now {
                let expired = lanes[lane].removeFirst()
                onStatementFailed?(Self.notSent, "bid insert", expired.count)
                expired.fail(.databaseUnavailable("no time left for the bid after waiting for the database"))
            }
        }
    }

    /// Keys that were already claimed (by an earlier request, another loop, or another replica):
    /// look up what they recorded. The claim committed before this statement could skip it, so
    /// a fresh statement sees it.
    private func answerRepeats(_ repeated: [Pending], sent: ContinuousClock.Instant) {
        // A group's repeat is answered with all its ids (`BidWriter+Groups.swift`).
        var repeated = repeated
        repeated.removeAll { pending in
            guard case .group = pending.answer else { return false }
            answerGroupRepeat(pending, sent: sent)
            return true
        }
        guard !repeated.isEmpty else { return }
        let keys = repeated.compactMap(\.idempotencyKey)
        let deadline = repeated.map(\.deadline).min()
        connection.query(BidInsert.lookupSQL, [PostgresArrayLiteral.text(keys)], deadline: deadline) {
            [weak self] outcome in
            switch outcome {
            case .success(let result):
                var original: [String: (request: String, id: Int64, adjusted: String)] = [:]
                for row in result.rows {
                    guard let key = row[0], let request = row[1], let id = row[2].flatMap({ Int64($0) }),
                        let adjusted = row[3]
                    else { continue }
                    original[key] = (request, id, adjusted)
                }
                for pending in repeated {
                    guard let key = pending.idempotencyKey, let first = original[key] else {
                        // Expired and swept between the two statements: the outcome is unknown to us.
                        pending.fail(.databaseUnavailable("idempotency key vanished during lookup"), sent: sent)
                        continue
                    }
                    if first.request == BidInsert.canonicalRequest(pending) {
                        pending.succeed(
                            first: .replayed(bidID: first.id, adjustedCPC: first.adjusted), rows: [], sent: sent)
                    } else {
                        pending.fail(.keyReusedWithDifferentRequest, sent: sent)
                    }
                }
            case .failure(let error):
                self?.onStatementFailed?(error, "idempotency lookup", repeated.reduce(0) { $0 + $1.count })
                for pending in repeated { pending.fail(.databaseUnavailable(error.description), sent: sent) }
            }
        }
    }
}
