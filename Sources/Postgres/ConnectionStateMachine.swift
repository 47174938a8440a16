/// The life of one non-blocking connection, without sockets: what to do next for each event.
///
/// Kept pure so every transition — failures, reconnect backoff, shutdown, the pipeline's depth —
/// is unit-tested without a database. `PostgresConnection` feeds it events and performs its actions.
///
/// The connection runs in libpq's pipeline mode: up to `maxInFlight` statements may be sent
/// before the first one's results arrive (each followed by its own sync, so each is its own
/// transaction). Results come back in the order the statements went out.
struct ConnectionStateMachine {
    enum State: Equatable {
        case disconnected
        case connecting(attempt: Int)
        case idle
        /// `inFlight` statements sent and not yet finished (1...maxInFlight).
        case executing(inFlight: Int)
        case waitingToReconnect(attempt: Int)
        case closed
    }

    enum Action: Equatable {
        case none
        case startConnecting
        /// Send queued statements, if any, while `canSend` holds.
        case sendNext
        /// Drop the socket, fail the in-flight statement and everything queued, and retry after `delay`.
        case failAllAndScheduleReconnect(delay: Duration)
        /// Refuse new work at once: the database is known to be unreachable right now.
        case failImmediately
        case failAllAndClose
    }

    struct Backoff: Equatable {
        var initial: Duration = .milliseconds(50)
        var maximum: Duration = .seconds(2)

        /// Exponential, capped; the caller applies jitter.
        func delay(attempt: Int) -> Duration {
            let factor = 1 << min(attempt, 16)
            return min(initial * factor, maximum)
        }
    }

    private(set) var state: State = .disconnected
    let backoff: Backoff
    /// Statements in flight at once on the connection (1: one at a time, as without a pipeline).
    let maxInFlight: Int

    init(backoff: Backoff = Backoff(), maxInFlight: Int = 1) {
        self.backoff = backoff
        self.maxInFlight = max(1, maxInFlight)
    }

    /// Statements sent and not yet finished.
    var inFlight: Int {
        if case .executing(let count) = state { return count }
        return 0
    }

    /// True when connected with room in the pipeline for one more statement.
    var canSend: Bool {
        switch state {
        case .idle: return true
        case .executing(let count): return count < maxInFlight
        default: return false
        }
    }

    var acceptsWork: Bool {
        switch state {
        case .connecting, .idle, .executing: return true
        case .disconnected, .waitingToReconnect, .closed: return false
        }
    }

    mutating func startRequested() -> Action {
        guard state == .disconnected else { return .none }
        state = .connecting(attempt: 0)
        return .startConnecting
    }

    mutating func connected() -> Action {
        guard case .connecting = state else { return .none }
        state = .idle
        return .sendNext
    }

    /// A connection attempt failed, or an established connection broke or timed out.
    mutating func connectionFailed() -> Action {
        switch state {
        case .connecting(let attempt):
            state = .waitingToReconnect(attempt: attempt + 1)
            return .failAllAndScheduleReconnect(delay: backoff.delay(attempt: attempt))
        case .idle, .executing:
            state = .waitingToReconnect(attempt: 0)
            // Reconnect at once after a drop: the usual cause (a restart, a killed backend) is over.
            return .failAllAndScheduleReconnect(delay: .zero)
        case .disconnected, .waitingToReconnect, .closed:
            return .none
        }
    }

    mutating func reconnectTimerFired() -> Action {
        guard case .waitingToReconnect(let attempt) = state else { return .none }
        state = .connecting(attempt: attempt)
        return .startConnecting
    }

    mutating func queryEnqueued() -> Action {
        switch state {
        case .idle: return .sendNext
        case .executing(let count): return count < maxInFlight ? .sendNext : .none
        case .connecting: return .none
        case .disconnected, .waitingToReconnect, .closed: return .failImmediately
        }
    }

    /// One more statement went out. Only valid while `canSend`.
    mutating func querySent() {
        switch state {
        case .idle: state = .executing(inFlight: 1)
        case .executing(let count) where count < maxInFlight: state = .executing(inFlight: count + 1)
        default: break
        }
    }

    /// The oldest statement in flight finished (its sync arrived): room for the next one.
    mutating func queryFinished() -> Action {
        guard case .executing(let count) = state else { return .none }
        state = count == 1 ? .idle : .executing(inFlight: count - 1)
        return .sendNext
    }

    mutating func closeRequested() -> Action {
        guard state != .closed else { return .none }
        state = .closed
        return .failAllAndClose
    }
}
