import Postgres

/// One statement at a time, answered through a callback: what the report loader needs from a
/// database, so the same loader serves the blocking command line (`PostgresSession`, which
/// answers before returning) and the HTTP handlers (`PostgresConnection`, which answers later on
/// the loop thread and never blocks it).
protocol AuditDatabase {
    func run(
        _ sql: String, _ parameters: [String?], _ completion: @escaping (Result<PostgresResult, PostgresError>) -> Void)
}
