import HTTPServer

/// While single bids are arriving, bulk statements start only as fast as the loop's bulk budget
/// allows (`BulkBudget`); a bulk group held back waits in its lane, and a timer on the loop
/// starts the next bulk statement when the budget allows it. Because a connection hands its
/// next request to the router only after the reply to the one before, bulk requests held in the
/// lane also stop the loop parsing more of them: the budget bounds bulk's parsing and pricing
/// as well as its statements and WAL. With no single bid in the last `sharedWindow`, bulk is
/// not limited.
extension BidWriter {
    /// Limits bulk to `bidsPerSecond` on this loop while single bids arrive; `schedule` runs a
    /// body on the loop after a delay.
    public func limitBulk(
        toBidsPerSecond bidsPerSecond: Int, schedule: @escaping (Duration, @escaping () -> Void) -> Void
    ) {
        bulkBudget = BulkBudget(rate: bidsPerSecond, capacity: sharedBulkBatch, now: .now)
        scheduleOnLoop = schedule
    }

    /// How long the bulk lane must still wait for its budget; nil when it may start a statement.
    func bulkHold(now: ContinuousClock.Instant) -> Duration? {
        guard bulkBudget != nil, singlesAreArriving(now: now) else { return nil }
        return bulkBudget?.wait(now: now)
    }

    /// Takes a bulk statement's bids from the budget while single bids arrive.
    func spendBulkBudget(_ bids: Int, now: ContinuousClock.Instant) {
        guard singlesAreArriving(now: now) else { return }
        bulkBudget?.spend(bids)
    }

    /// Starts the bulk lane's next statement once the budget allows it (one timer at a time), or
    /// sooner when the oldest held group's deadline comes first: it is then answered in time.
    func retryBulk(after delay: Duration, now: ContinuousClock.Instant) {
        guard !bulkRetryPending, let scheduleOnLoop else { return }
        bulkRetryPending = true
        let untilDeadline = lanes[Lane.bulk.rawValue].first.map { now.duration(to: $0.deadline) }
        scheduleOnLoop(max(.zero, min(delay, untilDeadline ?? delay))) { [weak self] in
            guard let self else { return }
            bulkRetryPending = false
            startNextStatement(on: plan.connection(for: .bulk))
        }
    }
}
