/// A PostgreSQL advisory lock taken without waiting and held until `release()`: one holder at a
/// time across every process that uses the same key.
///
/// Through a direct connection it is a session-level lock on the caller's own session (no extra
/// connection). Behind a transaction pooler a session-level lock would stay on whichever server
/// connection took it, and the unlock would reach another one; there the lock is taken with
/// `pg_try_advisory_xact_lock` in a transaction left open on a connection of its own, which the
/// pooler keeps on one server connection until `release()` commits it. That transaction only
/// holds the lock: it takes no snapshot between statements and no transaction id, so it does not
/// hold back vacuum; a server `idle_in_transaction_session_timeout` (or PgBouncer's
/// `idle_transaction_timeout`) shorter than the work would end it early.
public final class AdvisoryLock {
    private enum Holder {
        case session(PostgresSession)
        case transaction(PostgresSession)
    }

    private var holder: Holder?
    private let arguments: String
    private let parameters: [String?]

    private init(holder: Holder, arguments: String, parameters: [String?]) {
        self.holder = holder
        self.arguments = arguments
        self.parameters = parameters
    }

    /// The lock on `arguments` (the key as SQL, e.g. `$1` or `1886350444, hashtext($1))`, with
    /// `parameters`), or nil when another holder has it. `session` does the caller's work; it
    /// holds the lock too unless `pooler` keeps no sessions, when `connectionString` opens the
    /// lock's own connection.
    public static func tryAcquire(
        _ arguments: String, _ parameters: [String?], session: PostgresSession, pooler: ConnectionPooler,
        connectionString: String
    ) throws(PostgresError) -> AdvisoryLock? {
        if pooler.keepsSessions {
            guard try session.execute("SELECT pg_try_advisory_lock(\(arguments))", parameters).scalar == "t" else {
                return nil
            }
            return AdvisoryLock(holder: .session(session), arguments: arguments, parameters: parameters)
        }
        let own = try PostgresSession(connectionString: connectionString)
        do {
            try own.execute("BEGIN")
            guard try own.execute("SELECT pg_try_advisory_xact_lock(\(arguments))", parameters).scalar == "t" else {
                own.close()
                return nil
            }
        } catch {
            own.close()
            throw error
        }
        return AdvisoryLock(holder: .transaction(own), arguments: arguments, parameters: parameters)
    }

    deinit {
        release()
    }

    /// Lets the next holder in; idempotent. A lost connection has released it already.
    public func release() {
        switch holder {
        case .session(let session):
            _ = try? session.execute("SELECT pg_advisory_unlock(\(arguments))", parameters)
        case .transaction(let own):
            _ = try? own.execute("COMMIT")
            own.close()
        case nil:
            break
        }
        holder = nil
    }
}
