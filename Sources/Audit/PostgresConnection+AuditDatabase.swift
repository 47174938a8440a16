import Postgres

extension PostgresConnection: AuditDatabase {
    /// Queues the statement; the answer comes on the connection's loop thread.
    func run(
        _ sql: String, _ parameters: [String?], _ completion: @escaping (Result<PostgresResult, PostgresError>) -> Void
    ) {
        query(sql, parameters, completion: completion)
    }
}
