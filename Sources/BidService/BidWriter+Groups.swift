public import BidCore
import Postgres

/// Bulk requests (`POST /api/bids/batch`): the valid items of one request are a group that is
/// written as one statement, so one transaction: all rows commit together or none does, and the
/// request is answered once, after the commit. A group is never split across statements, never
/// merged with single bids (its idempotency key covers the whole group), and queues with single
/// bids by age. Its deadline is the statement timeout from its arrival, as for a single bid.
extension BidWriter {
    public enum GroupRecorded: Sendable, Equatable {
        /// Stored now: one id per bid, in the order given.
        case stored(bidIDs: [Int64])
        /// The idempotency key had already recorded this request: its ids and stored prices.
        case replayed(bidIDs: [Int64], adjustedCPCs: [String])
    }

    public typealias GroupCompletion = (Result<GroupRecorded, WriteError>) -> Void

    struct PendingGroup {
        let bids: [BidRequest]
        let idempotencyKey: String?
        /// What "the same request" means for the key (`BidInsert.canonicalBatch`).
        let request: String
        let deadline: ContinuousClock.Instant
        let completion: GroupCompletion
    }

    /// Records `bids` in one commit, or none of them; with an idempotency key, at most once per
    /// key. `request` identifies the whole request for the key (a repeat must match it).
    public func submitGroup(
        _ bids: [BidRequest], idempotencyKey: String?, request: String, completion: @escaping GroupCompletion
    ) {
        precondition(!bids.isEmpty, "an empty group has nothing to record")
        guard pendingCount + bids.count <= maxPending else {
            completion(.failure(.overloaded))
            return
        }
        waitingGroups.append(
            PendingGroup(
                bids: bids, idempotencyKey: idempotencyKey, request: request,
                deadline: .now + connection.statementTimeout, completion: completion))
        waitingGroupBids += bids.count
        if !writeInFlight { writeNextBatch() }
    }

    /// Sends the oldest group as a statement of its own.
    func writeGroup() {
        let group = waitingGroups.removeFirst()
        waitingGroupBids -= group.bids.count
        writeInFlight = true
        let started = ContinuousClock.now
        let statement = BidInsert.groupStatement(
            group.bids, idempotencyKey: group.idempotencyKey, request: group.request)
        connection.query(statement.sql, statement.parameters, deadline: group.deadline) { [weak self] outcome in
            self?.finishGroup(group, outcome: outcome, started: started)
        }
    }

    private func finishGroup(
        _ group: PendingGroup, outcome: Result<PostgresResult, PostgresError>, started: ContinuousClock.Instant
    ) {
        writeInFlight = false
        let rows = outcome.flatMap { BidInsert.rows(from: $0, expected: group.bids.count) }
        onBatchFinished?(group.bids.count, started.duration(to: .now), (try? rows.get()) != nil)
        switch rows {
        case .success(let rows):
            // The key is claimed for all rows or none: `fresh` is the same on every row.
            if rows.allSatisfy(\.fresh) {
                group.completion(.success(.stored(bidIDs: rows.map(\.id))))
            } else {
                answerGroupRepeat(group)
            }
        case .failure(let error):
            group.completion(.failure(.databaseUnavailable(error.description)))
        }
        writeNextBatch()
    }

    /// Groups that waited behind slow writes until no time was left: never sent, so not stored.
    func failExpiredGroups() {
        let now = ContinuousClock.now
        while let first = waitingGroups.first, first.deadline <= now {
            waitingGroups.removeFirst()
            waitingGroupBids -= first.bids.count
            first.completion(
                .failure(.databaseUnavailable("no time left for the bids after waiting for the database")))
        }
    }

    /// The key was claimed before (by an earlier request, another loop or another replica): answer
    /// with what it recorded, or refuse when it recorded another request.
    private func answerGroupRepeat(_ group: PendingGroup) {
        guard let key = group.idempotencyKey else {
            group.completion(.failure(.databaseUnavailable("group insert reported an unclaimed key without a key")))
            return
        }
        connection.query(BidInsert.groupLookupSQL, [key], deadline: group.deadline) { outcome in
            switch outcome {
            case .success(let result):
                guard let first = result.rows.first, let request = first[0] else {
                    // Expired and swept between the two statements: the outcome is unknown to us.
                    group.completion(.failure(.databaseUnavailable("idempotency key vanished during lookup")))
                    return
                }
                guard request == group.request else {
                    group.completion(.failure(.keyReusedWithDifferentRequest))
                    return
                }
                var ids: [Int64] = []
                var prices: [String] = []
                for row in result.rows {
                    guard let id = row[1].flatMap({ Int64($0) }), let price = row[2] else { break }
                    ids.append(id)
                    prices.append(price)
                }
                guard ids.count == group.bids.count else {
                    group.completion(
                        .failure(
                            .databaseUnavailable("idempotency key recorded \(ids.count) of \(group.bids.count) bids")))
                    return
                }
                group.completion(.success(.replayed(bidIDs: ids, adjustedCPCs: prices)))
            case .failure(let error):
                group.completion(.failure(.databaseUnavailable(error.description)))
            }
        }
    }
}
