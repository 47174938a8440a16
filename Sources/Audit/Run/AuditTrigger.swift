/// Who started an audit run, recorded with it: the nightly schedule's catch-up looks for runs at
/// exactly its scheduled instants, and readers can tell the nightly report from ad-hoc ones.
public enum AuditTrigger: String, Sendable, Equatable {
    case schedule
    case manual
}
