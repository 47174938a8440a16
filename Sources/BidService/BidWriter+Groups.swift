import Postgres

/// A repeated group (a bulk request sent again with its `Idempotency-Key`) is answered with every
/// bid it recorded, in order: the key's row keeps the group's ids (`bid_ids`), and their stored
/// prices are read back with them, so the repeat answers exactly what the original did.
extension BidWriter {
    func answerGroupRepeat(_ group: Pending, sent: ContinuousClock.Instant) {
        guard let key = group.idempotencyKey else {
            group.fail(.databaseUnavailable("a group without a key reported as repeated"), sent: sent)
            return
        }
        connection.query(BidInsert.groupLookupSQL, [key], deadline: group.deadline) { [weak self] outcome in
            switch outcome {
            case .success(let result):
                guard let first = result.rows.first, let request = first[0] else {
                    // Expired and swept between the two statements: the outcome is unknown to us.
                    group.fail(.databaseUnavailable("idempotency key vanished during lookup"), sent: sent)
                    return
                }
                guard request == BidInsert.canonicalRequest(group) else {
                    group.fail(.keyReusedWithDifferentRequest, sent: sent)
                    return
                }
                var recorded: [Recorded] = []
                for row in result.rows {
                    guard let id = row[1].flatMap({ Int64($0) }), let price = row[2] else { break }
                    recorded.append(.replayed(bidID: id, adjustedCPC: price))
                }
                guard recorded.count == group.count, case .group(let completion) = group.answer else {
                    group.fail(
                        .databaseUnavailable("idempotency key recorded \(recorded.count) of \(group.count) bids"),
                        sent: sent)
                    return
                }
                completion(
                    .success(recorded),
                    WriteTiming(enqueued: group.enqueued, sent: sent, finished: .now, statement: nil))
            case .failure(let error):
                self?.onStatementFailed?(error, "idempotency lookup", group.count)
                group.fail(.databaseUnavailable(error.description), sent: sent)
            }
        }
    }
}

extension BidWriter: BidGroupRecorder {}
