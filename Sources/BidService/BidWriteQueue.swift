import DequeModule

/// One lane's waiting groups in arrival order, with the bids they hold and the lane's credit for
/// its current turn. Loop-thread only, inside `BidWriter`.
struct BidWriteQueue {
    private var groups: Deque<BidWriter.Pending> = []
    /// Bids waiting in the lane.
    private(set) var bids = 0
    /// Bids the lane may still send in its current turn (deficit round robin).
    var deficit = 0

    var isEmpty: Bool { groups.isEmpty }
    var first: BidWriter.Pending? { groups.first }

    mutating func append(_ pending: BidWriter.Pending) {
        groups.append(pending)
        bids += pending.count
    }

    mutating func removeFirst() -> BidWriter.Pending {
        let pending = groups.removeFirst()
        bids -= pending.count
        return pending
    }
}
