import Postgres

extension PostgresSession: AuditDatabase {
    /// Runs the statement now and answers before returning.
    func run(
        _ sql: String, _ parameters: [String?], _ completion: @escaping (Result<PostgresResult, PostgresError>) -> Void
    ) {
        completion(Result { () throws(PostgresError) in try execute(sql, parameters) })
    }
}
