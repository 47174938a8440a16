/// Fair share between single bids and bulk groups: each has its own queue (lane), and the
/// writer's statements go to the lanes in turn, by bid count (deficit round robin). A turn gives
/// a lane `maxBatch` more bids of credit; it sends whole groups, oldest first, while they fit its
/// credit and one statement. A statement carries one lane's groups only, so a single bid never
/// rides in (and waits for) a bulk statement, and a bulk group is never split. With one lane
/// busy it has every turn; with both busy each gets the same bids per turn, and a single bid
/// waits at most for the statement in flight and one bulk statement. With a connection of their
/// own (`WriterConnectionPlan`), each connection serves only its lane, and a single bid waits for
/// single bids' statements only. While single bids are arriving (one in the last
/// `sharedWindow`), bulk statements are kept short (`sharedBulkBatch` bids, or one group when a
/// group is larger), so that the statement a single bid may wait for is short too; bulk alone
/// still gets full batches (docs/performance.md, "Isolation").
extension BidWriter {
    /// How long after the last single bid bulk statements stay short.
    static let sharedWindow: Duration = .seconds(1)
    public enum Lane: Int, CaseIterable, Sendable {
        /// `POST /api/bid`: one bid, usually waited for by a person or a bidder.
        case single = 0
        /// `POST /api/bids/batch`: groups that commit together.
        case bulk = 1

        public var name: String {
            switch self {
            case .single: "single"
            case .bulk: "bulk"
            }
        }
    }

    /// Whether a single bid arrived within `sharedWindow`.
    func singlesAreArriving(now: ContinuousClock.Instant = .now) -> Bool {
        guard let lastSingleArrival else { return false }
        return lastSingleArrival.duration(to: now) < Self.sharedWindow
    }

    /// The next statement's groups (one lane's, among `served`), or nil when none of them has a
    /// group to send now. The bulk lane waits while its budget is spent (`BidWriter+BulkBudget.swift`).
    func nextStatement(
        serving served: [Lane] = Lane.allCases, now: ContinuousClock.Instant = .now
    ) -> (lane: Lane, batch: [Pending], bids: Int)? {
        let bulkHeld = served.contains(.bulk) && !lanes[Lane.bulk.rawValue].isEmpty ? bulkHold(now: now) : nil
        func open(_ lane: Lane) -> Bool { served.contains(lane) && (lane != .bulk || bulkHeld == nil) }
        guard served.contains(where: { open($0) && !lanes[$0.rawValue].isEmpty }) else {
            if let bulkHeld { retryBulk(after: bulkHeld, now: now) }
            return nil
        }
        while true {
            let index = nextLane
            nextLane = (nextLane + 1) % lanes.count
            guard let lane = Lane(rawValue: index), open(lane) else { continue }
            guard !lanes[index].isEmpty else {
                lanes[index].deficit = 0
                continue
            }
            lanes[index].deficit += maxBatch
            let limit = lane == .bulk && singlesAreArriving(now: now) ? sharedBulkBatch : maxBatch
            var batch: [Pending] = []
            var bids = 0
            // Whole groups only, up to `limit` bids (a larger group goes alone once its credit allows).
            while let next = lanes[index].first, next.count <= lanes[index].deficit,
                bids == 0 || bids + next.count <= limit
            {
                batch.append(lanes[index].removeFirst())
                bids += next.count
                lanes[index].deficit -= next.count
            }
            if lanes[index].isEmpty { lanes[index].deficit = 0 }
            guard !batch.isEmpty else { continue }
            if lane == .bulk { spendBulkBudget(bids, now: now) }
            return (lane, batch, bids)
        }
    }
}
