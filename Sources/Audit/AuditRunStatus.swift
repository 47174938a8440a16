/// The state of an audit run as stored in `audit_runs.status`.
public enum AuditRunStatus: String, Sendable, Equatable {
    /// The first attempt for this `as_of` is in progress. A run whose process died is marked
    /// `failed` ("abandoned: …") by the next run of any `as_of`; the scheduler's catch-up runs it again.
    case running
    case succeeded
    /// The last attempt failed and no earlier attempt succeeded; `error` says why.
    case failed
}
