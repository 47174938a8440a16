import PostgresTestSupport
import Testing

@testable import Postgres

/// Needs PostgreSQL: TEST_DATABASE_URL, or the project's throwaway cluster. Who holds the lock is
/// read from `pg_locks`, by backend.
@Suite(.serialized) struct AdvisoryLockPostgresTests {
    private static let key = "$1"

    private func advisoryLocks(held by: PostgresSession, seen from: PostgresSession) throws -> String? {
        try from.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1",
            [String(by.backendPID)]
        ).scalar
    }

    @Test func withSessionsTheLockIsTheCallersSessionLock() throws {
        let url = try TestDatabase.fresh("advisory_session")
        let work = try PostgresSession(connectionString: url)
        let other = try PostgresSession(connectionString: url)
        let lock = try AdvisoryLock.tryAcquire(
            Self.key, ["4242"], session: work, pooler: .none, connectionString: url)
        #expect(lock != nil)
        #expect(try advisoryLocks(held: work, seen: other) == "1")
        #expect(
            try AdvisoryLock.tryAcquire(Self.key, ["4242"], session: other, pooler: .none, connectionString: url) == nil
        )
        lock?.release()
        #expect(try advisoryLocks(held: work, seen: other) == "0")
        #expect(try other.execute("SELECT pg_try_advisory_lock(4242)").scalar == "t")
    }

    @Test func behindATransactionPoolerAnOpenTransactionOfItsOwnHoldsIt() throws {
        let url = try TestDatabase.fresh("advisory_transaction")
        let work = try PostgresSession(connectionString: url)
        let other = try PostgresSession(connectionString: url)
        let lock = try AdvisoryLock.tryAcquire(
            Self.key, ["4243"], session: work, pooler: .transaction, connectionString: url)
        #expect(lock != nil)
        // Not on the work session: its statements may reach any server connection.
        #expect(try advisoryLocks(held: work, seen: other) == "0")
        let holders = try other.execute(
            """
            SELECT a.state FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND l.granted AND l.objid = 4243
            """
        ).rows
        #expect(holders == [["idle in transaction"]])
        #expect(
            try AdvisoryLock.tryAcquire(Self.key, ["4243"], session: other, pooler: .transaction, connectionString: url)
                == nil)
        // Work goes on in the meantime, in transactions of its own.
        #expect(try work.execute("SELECT 1").scalar == "1")
        lock?.release()
        lock?.release()
        #expect(try other.execute("SELECT pg_try_advisory_lock(4243)").scalar == "t")
    }
}
