import Postgres

/// The session-level advisory lock that makes one scheduler active across replicas, on a
/// connection used for nothing else.
///
/// PostgreSQL releases a session lock when its connection ends, however it ends: a replica that
/// crashes, is killed or loses its network stops being the leader without anyone's help, and a
/// standby's next `tryAcquire` succeeds. Blocking calls, on the scheduler's thread only.
final class LeaderLock {
    private let session: PostgresSession
    private let key: String
    private(set) var isHeld = false

    init(connectionString: String, key: Int64) throws(PostgresError) {
        session = try PostgresSession(connectionString: connectionString)
        self.key = String(key)
        try session.execute("SET application_name = 'bidengine scheduler'")
    }

    /// Takes the lock if nobody holds it; never waits for it.
    func tryAcquire() throws(PostgresError) -> Bool {
        isHeld = try session.execute("SELECT pg_try_advisory_lock($1)", [key]).scalar == "t"
        return isHeld
    }

    /// False when the connection (and with it the lock) is gone.
    func isHealthy() -> Bool {
        (try? session.execute("SELECT 1")) != nil
    }

    /// The lock's backend, so tests can cut the connection as a crash would.
    var backendPID: Int32 { session.backendPID }

    /// Releases the lock at once for a standby, then closes the connection.
    func release() {
        if isHeld { _ = try? session.execute("SELECT pg_advisory_unlock($1)", [key]) }
        isHeld = false
        session.close()
    }
}
