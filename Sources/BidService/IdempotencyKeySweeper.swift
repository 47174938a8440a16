import Postgres

/// Deletes idempotency keys older than the retention period, in small batches, on a connection
/// of its own so that the sweep never queues in front of bid writes.
final class IdempotencyKeySweeper {
    private let connection: PostgresConnection
    private let retention: Duration
    private let interval: Duration
    private let reactor: any PostgresReactor
    private var timer: (any PostgresTimer)?
    /// Called with the number of keys deleted by each statement.
    var onSweep: ((Int) -> Void)?

    static let sql = """
        DELETE FROM idempotency_keys WHERE key IN (
            SELECT key FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1::double precision)
            ORDER BY created_at LIMIT 5000)
        """

    init(connection: PostgresConnection, reactor: any PostgresReactor, retention: Duration, interval: Duration) {
        self.connection = connection
        self.reactor = reactor
        self.retention = retention
        self.interval = interval
    }

    func start() {
        connection.start()
        schedule(after: interval)
    }

    private func schedule(after delay: Duration) {
        timer = reactor.after(delay) { [weak self] in self?.sweep() }
    }

    private func sweep() {
        let seconds = String(retention.components.seconds)
        connection.query(Self.sql, [seconds]) { [weak self] outcome in
            guard let self else { return }
            let deleted = (try? outcome.get())?.affectedRows ?? 0
            self.onSweep?(deleted)
            // A full batch means more is due: continue at once instead of waiting an interval.
            self.schedule(after: deleted == 5000 ? .zero : self.interval)
        }
    }
}
