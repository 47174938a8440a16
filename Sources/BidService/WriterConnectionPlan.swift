/// Which of a bid writer's connections carries each lane's statements. With one connection the
/// lanes share it and take turns; with a second one for single bids, a single bid never waits for
/// a bulk statement in flight, and its statement runs in a PostgreSQL backend of its own, idle
/// between single bids rather than busy with bulk inserts (docs/decisions/0019-single-bid-connection.md).
struct WriterConnectionPlan: Equatable, Sendable {
    /// Single bids have connection 1 to themselves; bulk groups keep connection 0.
    let singleBidConnection: Bool
    /// Each connection's lanes in turn order, worked out once: the writer asks for them before
    /// every statement.
    private let lanesByConnection: [[BidWriter.Lane]]

    init(singleBidConnection: Bool) {
        self.singleBidConnection = singleBidConnection
        let count = singleBidConnection ? 2 : 1
        lanesByConnection = (0..<count).map { index in
            BidWriter.Lane.allCases.filter {
                Self.connection(for: $0, singleBidConnection: singleBidConnection) == index
            }
        }
    }

    var connectionCount: Int { lanesByConnection.count }

    /// The index of the connection that carries `lane`'s statements.
    func connection(for lane: BidWriter.Lane) -> Int {
        Self.connection(for: lane, singleBidConnection: singleBidConnection)
    }

    private static func connection(for lane: BidWriter.Lane, singleBidConnection: Bool) -> Int {
        singleBidConnection && lane == .single ? 1 : 0
    }

    /// The lanes whose statements go on connection `index`, in turn order.
    func lanes(on index: Int) -> [BidWriter.Lane] { lanesByConnection[index] }
}
