import Postgres

/// The report loader's database on an event loop: a connection or the read router, answering
/// later on the loop thread.
struct LoopAuditDatabase: AuditDatabase {
    let querying: any PostgresQuerying

    /// Queues the statement; the answer comes on the loop thread.
    func run(
        _ sql: String, _ parameters: [String?], _ completion: @escaping (Result<PostgresResult, PostgresError>) -> Void
    ) {
        querying.query(sql, parameters, deadline: nil, completion: completion)
    }
}
