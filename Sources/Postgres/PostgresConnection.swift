internal import CLibpq
import DequeModule

/// One non-blocking libpq connection owned by one event loop.
///
/// Statements queue and go out in libpq's pipeline mode: up to `maxInFlight` at once, each followed
/// by its own sync, so each statement is its own transaction and a failing one fails only itself
/// (PostgreSQL's group commit then merges the fsyncs of statements that commit together). The
/// socket is watched by the loop (`PQconnectPoll`, `PQflush`, `PQconsumeInput`), so the loop
/// thread never waits on the database. Each statement has a deadline: when it passes, the
/// connection is dropped and every statement on it fails at once, because a frozen server must
/// produce a fast error, not a hang. After any failure the
/// connection reconnects by itself with capped exponential backoff; while it is down, new work
/// fails immediately. Use only on the reactor's thread.
public final class PostgresConnection {
    public struct Configuration: Sendable {
        public var connectionString: String
        /// Deadline for one statement, from the moment it is queued.
        public var statementTimeout: Duration = .seconds(1)
        public var connectTimeout: Duration = .seconds(2)
        public var initialBackoff: Duration = .milliseconds(50)
        public var maximumBackoff: Duration = .seconds(2)
        /// Statements in flight at once (pipeline depth); 1 sends one at a time.
        public var maxInFlight = 8
        /// Whether statements given `preparedAs` are prepared once per connection under that name.
        /// Off behind a transaction pooler: the next statement may reach another server connection,
        /// where the name does not exist (or already means a statement another client prepared),
        /// so every statement then goes unnamed, parsed and planned each time.
        public var namedStatements = true

        public init(connectionString: String) {
            self.connectionString = connectionString
        }
    }

    /// What the application may want to log or count.
    public enum Event: Sendable {
        case connected
        case connectionFailed(PostgresError)
        case reconnectScheduled(after: Duration)
    }

    public typealias Completion = (Result<PostgresResult, PostgresError>) -> Void

    private struct Statement {
        let sql: String
        let parameters: [String?]
        /// Prepared once per connection under this name, then executed by name.
        let preparedName: String?
        let deadline: ContinuousClock.Instant
        let completion: Completion
    }

    private let configuration: Configuration
    private let reactor: any PostgresReactor
    private let onEvent: (Event) -> Void
    private var machine: PostgresConnectionStateMachine<Statement>
    private var connection: OpaquePointer?
    private var watch: (any PostgresSocketWatch)?
    private var watchedSocket: Int32 = -1
    private var timer: (any PostgresTimer)?
    /// Fails queued statements whose deadline passes while no statement can be sent (connecting).
    private var queueTimer: (any PostgresTimer)?
    /// Waiting to be sent, oldest first; what is in flight the state machine holds.
    private var queue: Deque<Statement> = []
    /// Names prepared on the current socket (sent; a failed prepare is forgotten again).
    private var prepared: Set<String> = []
    /// The deadline the statement timer is armed for (it may be earlier than the oldest remaining
    /// deadline: when it fires early it re-arms instead of failing).
    private var armedDeadline: ContinuousClock.Instant?
    private var flushing = false

    public init(
        configuration: Configuration, reactor: any PostgresReactor, onEvent: @escaping (Event) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.reactor = reactor
        self.onEvent = onEvent
        self.machine = PostgresConnectionStateMachine(
            backoff: .init(initial: configuration.initialBackoff, maximum: configuration.maximumBackoff),
            maxInFlight: configuration.maxInFlight)
    }

    deinit {
        dropSocket()
    }

    /// True when connected and able to take a statement without waiting for a reconnect.
    public var isConnected: Bool {
        switch machine.state {
        case .idle, .executing: return true
        default: return false
        }
    }

    /// Statements queued or in flight.
    public var pendingCount: Int { queue.count + machine.inFlight }

    /// How long a statement may take, from the moment it is queued, unless `query` is given a deadline.
    public var statementTimeout: Duration { configuration.statementTimeout }

    public func start() {
        perform(machine.startRequested())
    }

    /// Queues one statement (text parameters `$1…`; nil is NULL). `completion` runs on the loop
    /// thread exactly once: with the rows, a query error, or a connection/timeout error — at the
    /// latest at `deadline` (default: `statementTimeout` from now), whether queued or in flight.
    ///
    /// With `preparedAs`, the statement is prepared once per connection under that name (in the
    /// same pipeline segment as its first execution) and executed by name afterwards: PostgreSQL
    /// parses and plans it once. The same name must always mean the same `sql`.
    public func query(
        _ sql: String, _ parameters: [String?] = [], preparedAs preparedName: String? = nil,
        deadline: ContinuousClock.Instant? = nil, completion: @escaping Completion
    ) {
        let statement = Statement(
            sql: sql, parameters: parameters, preparedName: preparedName,
            deadline: deadline ?? .now + configuration.statementTimeout, completion: completion)
        let action = machine.queryEnqueued()
        if case .failImmediately = action {
            completion(.failure(PostgresError(.connection, "database unavailable (reconnecting)")))
            return
        }
        queue.append(statement)
        perform(action)
        if machine.inFlight == 0, !queue.isEmpty, queueTimer == nil { armQueueTimer() }
    }

    /// Fails everything pending and closes the connection; the object takes no more work.
    public func close() {
        perform(machine.closeRequested())
    }

    // MARK: Actions

    private func perform(_ action: PostgresConnectionStateMachine<Statement>.Action) {
        switch action {
        case .none, .failImmediately:
            break
        case .startConnecting:
            startConnecting()
        case .sendNext:
            sendNext()
        case .failAllAndScheduleReconnect(let delay, let error, let inFlight):
            dropSocket()
            failAll(inFlight, error)
            let jittered = jitter(delay)
            onEvent(.reconnectScheduled(after: jittered))
            armTimer(after: jittered) { [weak self] in
                guard let self else { return }
                self.perform(self.machine.reconnectTimerFired())
            }
        case .failAllAndClose(let inFlight):
            dropSocket()
            failAll(inFlight, PostgresError(.shutdown, "connection closed"))
        case .completeAndSendNext(let statement, let outcome):
            if machine.inFlight == 0 {
                timer?.cancel()
                timer = nil
                armedDeadline = nil
            }
            statement.completion(outcome)
            sendNext()
        case .forgetPreparedName(let statement):
            if let name = statement.preparedName { prepared.remove(name) }
        }
    }

    private func fail(_ error: PostgresError) {
        onEvent(.connectionFailed(error))
        perform(machine.connectionFailed(error))
    }

    // MARK: Connecting

    private func startConnecting() {
        guard let connection = PQconnectStart(configuration.connectionString) else {
            fail(PostgresError(.connection, "out of memory starting a connection"))
            return
        }
        self.connection = connection
        PostgresNotices.install(on: connection)
        guard PQstatus(connection) != CONNECTION_BAD else {
            fail(PostgresError(.connection, errorMessage(prefix: "cannot connect")))
            return
        }
        armTimer(after: configuration.connectTimeout) { [weak self] in
            self?.fail(PostgresError(.timeout, "connecting to PostgreSQL timed out"))
        }
        // libpq wants to be polled once as if the socket were writable.
        continueConnecting(polling: PGRES_POLLING_WRITING)
    }

    private func continueConnecting(polling: PostgresPollingStatusType) {
        guard let connection else { return }
        switch polling {
        case PGRES_POLLING_READING:
            watchSocket(readable: true, writable: false)
        case PGRES_POLLING_WRITING:
            watchSocket(readable: false, writable: true)
        case PGRES_POLLING_OK:
            timer?.cancel()
            timer = nil
            guard PQsetnonblocking(connection, 1) == 0 else {
                fail(PostgresError(.connection, errorMessage(prefix: "cannot enter non-blocking mode")))
                return
            }
            guard PQenterPipelineMode(connection) == 1 else {
                fail(PostgresError(.connection, errorMessage(prefix: "cannot enter pipeline mode")))
                return
            }
            watchSocket(readable: true, writable: false)
            onEvent(.connected)
            perform(machine.connected())
        default:
            fail(PostgresError(.connection, errorMessage(prefix: "cannot connect")))
        }
    }

    // MARK: Statements

    private func sendNext() {
        guard let connection else { return }
        var sent = false
        while machine.canSend, let statement = queue.popFirst() {
            if statement.deadline <= .now {
                statement.completion(.failure(PostgresError(.timeout, "statement waited too long for the connection")))
                continue
            }
            var queued: Int32 = 1
            var prepares = false
            let preparedName = configuration.namedStatements ? statement.preparedName : nil
            if let name = preparedName, !prepared.contains(name) {
                // Its result (command OK) precedes the execution's in the same segment; an error in
                // it aborts the execution and is the statement's outcome.
                queued = PQsendPrepare(connection, name, statement.sql, Int32(statement.parameters.count), nil)
                prepared.insert(name)
                prepares = true
            }
            if queued == 1 {
                queued = withCParameters(statement.parameters) { values in
                    if let name = preparedName {
                        return PQsendQueryPrepared(connection, name, Int32(values.count), values, nil, nil, 0)
                    }
                    return PQsendQueryParams(connection, statement.sql, Int32(values.count), nil, values, nil, nil, 0)
                }
            }
            // In flight from here: a failure to send fails it with the others.
            machine.querySent(statement, prepares: prepares)
            // One sync per statement: each is its own transaction, and an error aborts only it.
            guard queued == 1, PQpipelineSync(connection) == 1 else {
                fail(PostgresError(.connection, errorMessage(prefix: "cannot send statement")))
                return
            }
            sent = true
            if armedDeadline.map({ statement.deadline < $0 }) ?? true { armStatementTimer(for: statement.deadline) }
        }
        if sent { flush() }
    }

    /// Fails the connection when the oldest deadline in flight passes; re-arms when it fired for a
    /// statement that has finished since.
    private func armStatementTimer(for deadline: ContinuousClock.Instant) {
        armedDeadline = deadline
        armTimer(after: ContinuousClock.now.duration(to: deadline)) { [weak self] in
            guard let self else { return }
            self.armedDeadline = nil
            guard let earliest = self.machine.inFlightStatements.lazy.map(\.deadline).min() else { return }
            if earliest <= .now {
                self.fail(PostgresError(.timeout, "no answer from PostgreSQL within the statement deadline"))
            } else {
                self.armStatementTimer(for: earliest)
            }
        }
    }

    private func flush() {
        guard let connection else { return }
        switch PQflush(connection) {
        case 0:
            flushing = false
            watchSocket(readable: true, writable: false)
        case 1:
            flushing = true
            watchSocket(readable: true, writable: true)
        default:
            fail(PostgresError(.connection, errorMessage(prefix: "cannot send")))
        }
    }

    private func socketReady(readable: Bool, writable: Bool) {
        guard let connection else { return }
        if case .connecting = machine.state {
            continueConnecting(polling: PQconnectPoll(connection))
            return
        }
        if writable, flushing { flush() }
        guard readable, self.connection != nil else { return }
        guard PQconsumeInput(connection) == 1 else {
            fail(PostgresError(.connection, errorMessage(prefix: "connection lost")))
            return
        }
        // Results in statement order: the statement's own results, a NULL, then its sync (no NULL
        // after a sync). Two NULLs in a row mean libpq has nothing more for us, whatever its state.
        var previousWasNull = false
        while machine.inFlight > 0, self.connection == connection, PQisBusy(connection) == 0 {
            guard let result = PQgetResult(connection) else {
                if previousWasNull { break }
                previousWasNull = true
                continue
            }
            previousWasNull = false
            if PQresultStatus(result) == PGRES_PIPELINE_SYNC {
                PQclear(result)
                perform(machine.syncReceived())
                continue
            }
            perform(machine.resultReceived(PostgresResultReader.consume(result)))
        }
        // A notice or an unsolicited error while idle needs no answer; a broken socket does.
        if let connection = self.connection, PQstatus(connection) == CONNECTION_BAD {
            fail(PostgresError(.connection, errorMessage(prefix: "connection lost")))
        }
    }

    // MARK: Plumbing

    private func watchSocket(readable: Bool, writable: Bool) {
        guard let connection else { return }
        let socket = PQsocket(connection)
        // libpq may switch sockets while connecting (several hosts): re-register when it does.
        if socket != watchedSocket || watch == nil {
            watch?.cancel()
            watchedSocket = socket
            watch =
                socket < 0
                ? nil
                : reactor.watch(fd: socket) { [weak self] readable, writable in
                    self?.socketReady(readable: readable, writable: writable)
                }
        }
        watch?.setInterest(readable: readable, writable: writable)
    }

    private func dropSocket() {
        timer?.cancel()
        timer = nil
        armedDeadline = nil
        watch?.cancel()
        watch = nil
        watchedSocket = -1
        flushing = false
        prepared.removeAll()
        if let connection { PQfinish(connection) }
        connection = nil
    }

    /// Fails `inFlight` (the state machine has let go of them), then everything queued, in order.
    private func failAll(_ inFlight: [Statement], _ error: PostgresError) {
        let queued = queue
        queueTimer?.cancel()
        queueTimer = nil
        queue.removeAll(keepingCapacity: true)
        for statement in inFlight { statement.completion(.failure(error)) }
        for statement in queued { statement.completion(.failure(error)) }
    }

    private func armQueueTimer() {
        queueTimer?.cancel()
        queueTimer = nil
        // Callers may give their own deadlines, so the earliest can be anywhere in the queue.
        guard let earliest = queue.lazy.map(\.deadline).min() else { return }
        queueTimer = reactor.after(max(ContinuousClock.now.duration(to: earliest), .zero)) { [weak self] in
            guard let self else { return }
            self.queueTimer = nil
            let now = ContinuousClock.now
            let expired = self.queue.filter { $0.deadline <= now }
            self.queue.removeAll { $0.deadline <= now }
            for statement in expired {
                statement.completion(
                    .failure(PostgresError(.timeout, "no connection to PostgreSQL within the statement deadline")))
            }
            self.armQueueTimer()
        }
    }

    private func armTimer(after delay: Duration, _ body: @escaping () -> Void) {
        timer?.cancel()
        timer = reactor.after(max(delay, .zero), body)
    }

    /// Full jitter on reconnect delays, so replicas that lost the same server do not return in lockstep.
    private func jitter(_ delay: Duration) -> Duration {
        guard delay > .zero else { return .zero }
        let milliseconds = delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
        return .milliseconds(Int64.random(in: milliseconds / 2...max(milliseconds / 2, milliseconds)))
    }

    private func errorMessage(prefix: String) -> String {
        let detail = connection.flatMap { PQerrorMessage($0) }.map { String(cString: $0) } ?? ""
        let trimmed = ConnectionString.redacting(
            detail.trimmingTrailingNewlines(), connectionString: configuration.connectionString)
        return trimmed.isEmpty ? prefix : "\(prefix): \(trimmed)"
    }
}
