/// How an audit finds and writes the window's flagged bids (`AuditRunner.flagSearch`). Every way
/// gives the same flags; they differ in what they cost.
public enum AuditFlagSearch: Sendable, Equatable {
    /// On a replica, `.streamed`; on the primary, `.byPair` when the planner expects the window to
    /// hold at most a quarter as many distinct price pairs as bids, else `.byBid`.
    case automatic
    /// The rule decided once per distinct `(current_cpc, adjusted_cpc)` pair of the window, and
    /// the bids of the flagged pairs written by one `INSERT … SELECT` with a hash join: cheapest
    /// when bids repeat a few prices (the pairs' aggregate is small, the join cheap).
    case byPair
    /// The rule evaluated per bid in one `INSERT … SELECT`: cheaper when nearly every bid is a
    /// pair of its own, where the pairs' table and the join would be as large as the window.
    case byBid
    /// Flagged bids read through cursors (`AuditRunner.parallelism` sessions) and written by the
    /// run's session with COPY: the only way when the window is read on a replica.
    case streamed
}
