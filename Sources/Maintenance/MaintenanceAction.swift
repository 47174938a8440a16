/// One thing maintenance did (or, in a dry run, would do).
public struct MaintenanceAction: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A partition of `bids` was created (empty, or with the rows moved into it).
        case created
        /// Rows left `bids_default` for the partition of their month.
        case moved
        /// A partition past the retention left `bids`.
        case detached
        /// A detached partition was dropped.
        case dropped
        /// Rows of an unpartitioned table past the retention were deleted in batches.
        case deleted

        /// The verb for a dry run's "would …" line.
        public var infinitive: String {
            switch self {
            case .created: "create"
            case .moved: "move"
            case .detached: "detach"
            case .dropped: "drop"
            case .deleted: "delete"
            }
        }
    }

    public let kind: Kind
    /// The table acted on (for `moved`: the partition the rows went to).
    public let table: String
    public let rows: Int64
    /// True when `rows` is PostgreSQL's estimate (`pg_class.reltuples`): counting a month of bids
    /// exactly before dropping it would cost a full scan of it.
    public let estimated: Bool

    public init(_ kind: Kind, table: String, rows: Int64, estimated: Bool = false) {
        self.kind = kind
        self.table = table
        self.rows = rows
        self.estimated = estimated
    }
}
