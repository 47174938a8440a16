/// Sends reads to a hot-standby replica while it is connected and close enough behind, and to the
/// primary otherwise; writes never come here. Use only on the reactor's thread, like the
/// connections it owns.
///
/// The replica's lag is measured on the replica connection itself every `lagCheckInterval`
/// (nothing blocks: the check is one more queued statement). A read sent to the replica that
/// fails with a connection error or a timeout is sent again to the primary, so a replica that
/// dies costs a read one retry, not an error. Without a replica every read goes to the primary
/// and nothing is measured.
public final class PostgresReadRouter: PostgresQuerying {
    /// What the application may want to log or count.
    public enum Event: Sendable {
        /// A read went to the primary although a replica is configured.
        case fellBack(ReadRouteDecision.Reason)
        /// The replica became usable again, or stopped being usable (logged once per change).
        case replicaUsable(Bool, reason: ReadRouteDecision.Reason?)
        case lagMeasured(Duration)
        /// A read failed on the connection that had the last word (after any retry on the primary).
        case readFailed(PostgresError)
    }

    /// Replica lag: zero when not in recovery or when everything received is replayed (an idle
    /// primary sends nothing to replay), else the age of the last replayed transaction; NULL when
    /// nothing has been replayed yet. Whole microseconds, so no floating point is parsed.
    public static let lagSQL = """
        SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
                    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                    ELSE (EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000000)::bigint
               END
        """

    public let primary: PostgresConnection
    public let replica: PostgresConnection?
    private let reactor: any PostgresReactor
    private let lagCheckInterval: Duration
    private let onEvent: (Event) -> Void
    private var decision: ReadRouteDecision
    private var lagTimer: (any PostgresTimer)?
    private var lagCheckInFlight = false
    private var usable = false
    private var closed = false

    public init(
        primary: PostgresConnection, replica: PostgresConnection?, reactor: any PostgresReactor,
        maxLag: Duration = .seconds(5), lagCheckInterval: Duration = .seconds(1),
        onEvent: @escaping (Event) -> Void = { _ in }
    ) {
        self.primary = primary
        self.replica = replica
        self.reactor = reactor
        self.lagCheckInterval = lagCheckInterval
        self.onEvent = onEvent
        // Two missed checks and the measurement is no longer trusted.
        decision = ReadRouteDecision(maxLag: maxLag, measurementValidity: lagCheckInterval * 2 + .milliseconds(500))
    }

    /// Starts the replica connection (the primary belongs to the caller) and the lag checks.
    public func start() {
        guard let replica else { return }
        replica.start()
        checkLag()
    }

    /// Stops the lag checks and closes the replica connection.
    public func close() {
        closed = true
        lagTimer?.cancel()
        lagTimer = nil
        replica?.close()
    }

    /// Where a read would go now.
    public var currentTarget: ReadRouteDecision.Target {
        guard let replica else { return .primary(.replicaDown) }
        return decision.target(replicaConnected: replica.isConnected, now: .now)
    }

    /// The last measured replica lag, if any.
    public var replicaLag: Duration? { decision.lag }

    public func query(
        _ sql: String, _ parameters: [String?], deadline: ContinuousClock.Instant?,
        completion answer: @escaping PostgresConnection.Completion
    ) {
        let onEvent = self.onEvent
        let completion: PostgresConnection.Completion = { outcome in
            if case .failure(let error) = outcome { onEvent(.readFailed(error)) }
            answer(outcome)
        }
        guard let replica else {
            primary.query(sql, parameters, deadline: deadline, completion: completion)
            return
        }
        let target = currentTarget
        noteUsable(target)
        guard case .replica = target else {
            if case .primary(let reason) = target { onEvent(.fellBack(reason)) }
            primary.query(sql, parameters, deadline: deadline, completion: completion)
            return
        }
        replica.query(sql, parameters, deadline: deadline) { [weak self] outcome in
            guard case .failure(let error) = outcome, error.kind == .connection || error.kind == .timeout,
                let self, !self.closed
            else {
                completion(outcome)
                return
            }
            self.decision.replicaLost()
            self.noteUsable(.primary(.replicaFailed))
            self.onEvent(.fellBack(.replicaFailed))
            // The primary gets the rest of the caller's time, or its own full timeout.
            self.primary.query(sql, parameters, deadline: deadline.map { max($0, .now) }, completion: completion)
        }
    }

    // MARK: Lag

    private func checkLag() {
        guard !closed, let replica else { return }
        lagTimer = reactor.after(lagCheckInterval) { [weak self] in self?.checkLag() }
        guard replica.isConnected else {
            decision.replicaLost()
            return
        }
        // A check still waiting (a busy replica) is not doubled; its staleness shows as lag_unknown.
        guard !lagCheckInFlight else { return }
        lagCheckInFlight = true
        replica.query(Self.lagSQL, [], deadline: .now + lagCheckInterval * 2) { [weak self] outcome in
            guard let self else { return }
            self.lagCheckInFlight = false
            guard case .success(let result) = outcome, let text = result.scalar, let micros = Int64(text) else {
                return
            }
            let lag = Duration.microseconds(max(micros, 0))
            self.decision.lagMeasured(lag, at: .now)
            self.onEvent(.lagMeasured(lag))
            self.noteUsable(self.currentTarget)
        }
    }

    /// Reports a change between "reads go to the replica" and "reads go to the primary".
    private func noteUsable(_ target: ReadRouteDecision.Target) {
        let now: Bool
        let reason: ReadRouteDecision.Reason?
        switch target {
        case .replica: (now, reason) = (true, nil)
        case .primary(let why): (now, reason) = (false, why)
        }
        guard now != usable else { return }
        usable = now
        onEvent(.replicaUsable(now, reason: reason))
    }
}
