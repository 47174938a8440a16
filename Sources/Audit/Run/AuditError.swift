public import Postgres

/// Why an audit run did not finish. The description is what `audit_runs.error` records.
public enum AuditError: Error, Sendable, CustomStringConvertible {
    case database(PostgresError)
    /// A bid whose values cannot be judged exactly (not a decimal, or beyond 38 digits). The
    /// run stops rather than skip it: a silently incomplete audit is worse than a loud failure.
    case unreadableBid(id: String, reason: String)
    /// Shutdown asked the run to stop; nothing of this attempt was kept.
    case cancelled
    case runNotFound(Int64)
    /// The read replica had not replayed up to the primary's WAL position within the bound, and
    /// `AUDIT_REPLICA_BEHIND=fail`: auditing it would have left acknowledged bids out.
    case replicaBehind(waited: Duration, replayed: String, needed: String)

    public var description: String {
        switch self {
        case .database(let error): return "database error: \(error)"
        case .unreadableBid(let id, let reason): return "bid \(id) cannot be audited: \(reason)"
        case .cancelled: return "cancelled by shutdown before it finished; the previous results (if any) are unchanged"
        case .runNotFound(let id): return "audit run \(id) not found"
        case .replicaBehind(let waited, let replayed, let needed):
            return
                "read replica still behind the primary after \(waited) (replayed \(replayed), needed \(needed)): not auditing a window that may miss acknowledged bids (AUDIT_REPLICA_BEHIND=fail)"
        }
    }

    /// Any error thrown while auditing, as an `AuditError`.
    static func wrapping(_ error: any Error) -> AuditError {
        if let error = error as? AuditError { return error }
        if let error = error as? PostgresError { return .database(error) }
        return .database(PostgresError(.query, "\(error)"))
    }
}
