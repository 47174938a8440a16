import DequeModule

/// The life of one non-blocking connection and of its pipeline, without sockets: what to do next
/// for each event.
///
/// Kept pure so every transition — failures, reconnect backoff, shutdown, the pipeline's depth,
/// which statement a result belongs to and what it ends with — is unit-tested without a database.
/// `PostgresConnection` feeds it events and performs its actions; the actions carry the
/// statements they concern.
///
/// The connection runs in libpq's pipeline mode: up to `maxInFlight` statements may be sent
/// before the first one's results arrive (each followed by its own sync, so each is its own
/// transaction). Results come back in the order the statements went out: a statement's own
/// results, then its sync, which ends it with its first error or else its last result.
struct PostgresConnectionStateMachine<Statement> {
    enum State: Equatable {
        case disconnected
        case connecting(attempt: Int)
        case idle
        /// Statements sent and not yet finished (1...maxInFlight of them, in `inFlightStatements`).
        case executing
        case waitingToReconnect(attempt: Int)
        case closed
    }

    enum Action {
        case none
        case startConnecting
        /// Send queued statements, if any, while `canSend` holds.
        case sendNext
        /// Drop the socket, fail `inFlight` and everything queued with `error`, and retry after `delay`.
        case failAllAndScheduleReconnect(delay: Duration, error: PostgresError, inFlight: [Statement])
        /// Refuse new work at once: the database is known to be unreachable right now.
        case failImmediately
        /// Drop the socket and fail `inFlight` and everything queued: the connection is closed.
        case failAllAndClose(inFlight: [Statement])
        /// The oldest statement's sync arrived: complete it with `outcome`, then send what waits.
        case completeAndSendNext(Statement, outcome: Result<PostgresResult, PostgresError>)
        /// The statement's first result, its prepare, failed: the name is not prepared on this
        /// connection, and the next statement using it must prepare it again.
        case forgetPreparedName(of: Statement)
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

    /// A statement sent and not yet finished, with what it has produced so far. A result can be
    /// complete before its sync arrives (in a later read), so this outlives one readiness callback.
    private struct InFlight {
        let statement: Statement
        /// Its first result is a prepare's (sent in the same pipeline segment as the execution).
        let prepares: Bool
        var results = 0
        var outcome: Result<PostgresResult, PostgresError>?
    }

    private(set) var state: State = .disconnected
    let backoff: Backoff
    /// Statements in flight at once on the connection (1: one at a time, as without a pipeline).
    let maxInFlight: Int
    /// Sent and not finished, oldest first: results arrive in this order.
    private var pipeline: Deque<InFlight> = []

    init(backoff: Backoff = Backoff(), maxInFlight: Int = 1) {
        self.backoff = backoff
        self.maxInFlight = max(1, maxInFlight)
    }

    /// Statements sent and not yet finished.
    var inFlight: Int { pipeline.count }

    /// The statements sent and not yet finished, oldest first.
    var inFlightStatements: some Collection<Statement> { pipeline.lazy.map(\.statement) }

    /// True when connected with room in the pipeline for one more statement.
    var canSend: Bool {
        switch state {
        case .idle: return true
        case .executing: return pipeline.count < maxInFlight
        default: return false
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
    mutating func connectionFailed(_ error: PostgresError) -> Action {
        switch state {
        case .connecting(let attempt):
            state = .waitingToReconnect(attempt: attempt + 1)
            return .failAllAndScheduleReconnect(
                delay: backoff.delay(attempt: attempt), error: error, inFlight: takePipeline())
        case .idle, .executing:
            state = .waitingToReconnect(attempt: 0)
            // Reconnect at once after a drop: the usual cause (a restart, a killed backend) is over.
            return .failAllAndScheduleReconnect(delay: .zero, error: error, inFlight: takePipeline())
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
        case .executing: return pipeline.count < maxInFlight ? .sendNext : .none
        case .connecting: return .none
        case .disconnected, .waitingToReconnect, .closed: return .failImmediately
        }
    }

    /// `statement` went out (its prepare first when `prepares`). Only while `canSend`: the
    /// connection sends nothing otherwise, so no statement is ever lost here.
    mutating func querySent(_ statement: Statement, prepares: Bool = false) {
        assert(canSend, "a statement sent without room in the pipeline")
        pipeline.append(InFlight(statement: statement, prepares: prepares))
        state = .executing
    }

    /// One result of the oldest statement in flight (before its sync). The statement keeps its
    /// first error, otherwise its last result.
    mutating func resultReceived(_ outcome: Result<PostgresResult, PostgresError>) -> Action {
        guard case .executing = state, !pipeline.isEmpty else { return .none }
        let head = pipeline.startIndex
        let failed: Bool
        if case .failure = outcome { failed = true } else { failed = false }
        let isFailedPrepare = failed && pipeline[head].prepares && pipeline[head].results == 0
        pipeline[head].results += 1
        if case .failure? = pipeline[head].outcome {} else { pipeline[head].outcome = outcome }
        return isFailedPrepare ? .forgetPreparedName(of: pipeline[head].statement) : .none
    }

    /// The oldest statement's sync arrived: it is finished, and its slot is free for the next one.
    mutating func syncReceived() -> Action {
        guard case .executing = state, let head = pipeline.popFirst() else { return .none }
        if pipeline.isEmpty { state = .idle }
        return .completeAndSendNext(
            head.statement,
            outcome: head.outcome ?? .failure(PostgresError(.query, "statement returned no result")))
    }

    mutating func closeRequested() -> Action {
        guard state != .closed else { return .none }
        state = .closed
        return .failAllAndClose(inFlight: takePipeline())
    }

    private mutating func takePipeline() -> [Statement] {
        defer { pipeline.removeAll() }
        return pipeline.map(\.statement)
    }
}

extension PostgresConnectionStateMachine.Action: Equatable where Statement: Equatable {}
