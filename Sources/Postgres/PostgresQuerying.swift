/// Something that runs one statement and answers through a callback on the caller's loop: a
/// `PostgresConnection`, or a `PostgresReadRouter` that picks the replica or the primary.
///
/// Read handlers depend on this, not on a connection, so the same handler serves a deployment
/// with or without a read replica.
public protocol PostgresQuerying: AnyObject {
    /// Queues `sql` with text parameters; `completion` runs exactly once on the loop thread, at
    /// the latest at `deadline` (nil: the connection's statement timeout from now).
    func query(
        _ sql: String, _ parameters: [String?], deadline: ContinuousClock.Instant?,
        completion: @escaping PostgresConnection.Completion)
}

extension PostgresConnection: PostgresQuerying {
    /// A one-off statement (not prepared): what every read route sends.
    public func query(
        _ sql: String, _ parameters: [String?], deadline: ContinuousClock.Instant?, completion: @escaping Completion
    ) {
        query(sql, parameters, preparedAs: nil, deadline: deadline, completion: completion)
    }
}

extension PostgresQuerying {
    /// `query` with the connection's own statement timeout.
    public func query(
        _ sql: String, _ parameters: [String?] = [], completion: @escaping PostgresConnection.Completion
    ) {
        query(sql, parameters, deadline: nil, completion: completion)
    }
}
