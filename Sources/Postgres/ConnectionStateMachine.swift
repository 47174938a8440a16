/// The life of one non-blocking connection, without sockets: what to do next for each event.
///
/// Kept pure so every transition — failures, reconnect backoff, shutdown — is unit-tested without
/// a database. `PostgresConnection` feeds it events and performs its actions.
struct ConnectionStateMachine {
    enum State: Equatable {
        case disconnected
        case connecting(attempt: Int)
        case idle
        case executing
        case waitingToReconnect(attempt: Int)
        case closed
    }

    enum Action: Equatable {
        case none
        case startConnecting
        /// Send the next queued statement, if any.
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

    init(backoff: Backoff = Backoff()) {
        self.backoff = backoff
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
        case .connecting, .executing: return .none
        case .disconnected, .waitingToReconnect, .closed: return .failImmediately
        }
    }

    mutating func querySent() {
        if state == .idle { state = .executing }
    }

    mutating func queryFinished() -> Action {
        guard state == .executing else { return .none }
        state = .idle
        return .sendNext
    }

    mutating func closeRequested() -> Action {
        guard state != .closed else { return .none }
        state = .closed
        return .failAllAndClose
    }
}
