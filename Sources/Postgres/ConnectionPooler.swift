/// What sits between BidEngine and PostgreSQL, as the operator declares it (`DATABASE_POOLER`).
///
/// A transaction pooler (PgBouncer in `pool_mode = transaction`, and the managed poolers built
/// like it) gives a client a server connection for one transaction at a time, so nothing that
/// outlives a transaction holds: named prepared statements, session `SET`s, startup `options`,
/// session advisory locks. Declared rather than detected: asking the pooler (`SHOW pool_mode`)
/// needs its admin console, and PgBouncer answers the server's version as PostgreSQL's own.
public enum ConnectionPooler: String, Sendable, CaseIterable {
    /// Direct connections, or a session pooler: every connection is a session.
    case none
    /// A transaction pooler: each transaction may run on another server connection.
    case transaction

    /// Whether a connection through it keeps session state between transactions.
    public var keepsSessions: Bool { self == .none }
}
