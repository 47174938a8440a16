/// Which of a bid writer's connections carries each lane's statements. With one connection the
/// lanes share it and take turns; with a second one for single bids, a single bid never waits for
/// a bulk statement in flight, and its statement runs in a PostgreSQL backend of its own, idle
/// between single bids rather than busy with bulk inserts (docs/decisions/0019-single-bid-connection.md).
struct WriterConnectionPlan: Equatable, Sendable {
    /// Single bids have connection 1 to themselves; bulk groups keep connection 0.
    let singleBidConnection: Bool

    var connectionCount: Int { singleBidConnection ? 2 : 1 }

    /// The index of the connection that carries `lane`'s statements.
    func connection(for lane: BidWriter.Lane) -> Int {
        singleBidConnection && lane == .single ? 1 : 0
    }

    /// The lanes whose statements go on connection `index`, in turn order.
    func lanes(on index: Int) -> [BidWriter.Lane] {
        BidWriter.Lane.allCases.filter { connection(for: $0) == index }
    }
}
