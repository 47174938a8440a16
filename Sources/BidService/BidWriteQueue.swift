/// One lane's waiting groups in arrival order: an array read from a moving head, compacted when
/// the sent prefix is worth dropping. Loop-thread only, inside `BidWriter`.
struct BidWriteQueue {
    private var groups: [BidWriter.Pending] = []
    private var head = 0
    /// Bids waiting in the lane.
    private(set) var bids = 0
    /// Bids the lane may still send in its current turn (deficit round robin).
    var deficit = 0

    var isEmpty: Bool { head == groups.count }
    var first: BidWriter.Pending? { head < groups.count ? groups[head] : nil }

    mutating func append(_ pending: BidWriter.Pending) {
        groups.append(pending)
        bids += pending.count
    }

    mutating func removeFirst() -> BidWriter.Pending {
        let pending = groups[head]
        head += 1
        bids -= pending.count
        compact()
        return pending
    }

    /// Drops the sent prefix: at once when it is all sent, otherwise once it is the larger half,
    /// so that a queue that never empties under overload does not grow for ever.
    private mutating func compact() {
        if head == groups.count {
            groups.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= groups.count {
            groups.removeFirst(head)
            head = 0
        }
    }
}
