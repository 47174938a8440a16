/// What one HTTP connection is doing, and what it must do next: events in, actions out.
///
/// Pure: no socket, no libevent, no clock. `HTTPConnection` reports what happened (bytes read,
/// a request parsed, a reply written, the output drained, the peer closed, a deadline passed),
/// with the few facts the decision needs (bytes queued for output, bytes of input not yet
/// consumed), and performs the actions it gets back in order. Every rule about reading, deadlines,
/// back-pressure and closing lives here and is unit-tested without a socket
/// (`HTTPConnectionStateMachineTests`).
struct HTTPConnectionStateMachine {
    /// Which deadline the connection's timer is armed for.
    enum Deadline: Equatable {
        /// From accept until the first byte (`firstByteTimeout`).
        case firstByte
        /// From a request's first byte until it has been read whole (`requestTimeout`).
        case request
        /// Between requests (`idleTimeout`).
        case idle
        /// Half-closed after the last reply, waiting for the client to close.
        case linger
    }

    enum State: Equatable {
        /// No request with a handler: reading, parsing, or idle between requests.
        case reading(hasSpoken: Bool)
        /// A request is with its handler; its reply has not been given.
        case handling
        /// The last reply is given (or being written); nothing more is read as a request.
        /// `afterFailure`: the reply refused a request whose body the client may still be sending.
        case closing(afterFailure: Bool)
        /// Half-closed after the last reply; input is read and discarded until the client closes.
        case lingering
        case closed
    }

    /// Why the connection closes, for the counters.
    enum CloseReason: Equatable {
        case finished
        case peerGone
        case draining
        case firstByteTimeout
        case requestTimeout
        case writeTimeout
        /// A deadline that no counter counts (idle, linger, or a request deadline after its reply).
        case deadline
    }

    /// The limits the decisions depend on.
    struct Limits: Equatable {
        /// Input held behind a request with its handler (or behind queued output), beyond which
        /// reading pauses.
        var pipelinedInput = 64 * 1024
        /// Queued output beyond which the connection stops reading and taking requests.
        var maxQueuedOutput = 64 * 1024
        /// Queued output at or below which a paused connection reads again.
        var resumeOutputBelow: Int { maxQueuedOutput / 4 }
    }

    let limits: Limits
    private(set) var state = State.reading(hasSpoken: false)
    /// The deadline the timer is armed for; nil when it is not armed.
    private(set) var deadline: Deadline?
    /// The client has closed its sending side.
    private(set) var peerClosed = false
    /// More than `maxQueuedOutput` waits to be written: no reading, no new request.
    private(set) var outputPaused = false
    /// Reading is disabled because the connection holds as much as it may.
    private(set) var readPaused = false
    /// Output waits, and the write deadline runs until none does.
    private(set) var writeDeadlineArmed = false
    /// Inside `process`: replies given synchronously must not start another pass.
    private var processing = false

    init(limits: Limits) {
        self.limits = limits
    }

    /// New requests may be taken from the parser now.
    var takesRequests: Bool {
        if case .reading = state { return !outputPaused }
        return false
    }

    var isClosed: Bool { state == .closed }

    // MARK: Events

    /// The connection is accepted and its callbacks installed.
    mutating func started() -> Actions {
        arm(.firstByte)
    }

    /// Bytes arrived. `parse`: they go to the parser; otherwise (after the last reply) they are
    /// discarded. Parsed bytes start the request deadline unless a handler has the connection.
    mutating func bytesReceived() -> (parse: Bool, actions: Actions) {
        switch state {
        case .reading:
            state = .reading(hasSpoken: true)
            // The first byte of a request starts its deadline; later bytes do not move it.
            return (true, deadline == .request ? .none : arm(.request))
        case .handling:
            // Bytes that arrive while a handler works wait for its reply, which starts their deadline.
            return (true, .none)
        case .closing, .lingering, .closed:
            return (false, .none)
        }
    }

    /// Starts a pass over the parser's events; false if one is already running further up the
    /// stack (a reply given synchronously from inside it).
    mutating func processingStarted() -> Bool {
        guard !processing else { return false }
        processing = true
        return true
    }

    mutating func processingEnded() {
        processing = false
    }

    /// The parser needs more bytes. If none will come, the connection ends: a partial request is
    /// dropped unanswered.
    mutating func inputExhausted(_ buffers: Buffers) -> Actions {
        guard peerClosed, case .reading = state else { return .none }
        state = .closing(afterFailure: false)
        return finishIfFlushed(buffers)
    }

    /// A complete request goes to its handler.
    mutating func requestParsed() -> Actions {
        state = .handling
        return disarm()
    }

    /// The parser refused the stream: its error reply is the last.
    mutating func requestFailed() -> Actions {
        state = .closing(afterFailure: true)
        var actions = disarm()
        actions.reading = .pause
        return actions
    }

    /// The error reply of `requestFailed` is written or queued.
    mutating func failureReplyWritten(_ buffers: Buffers) -> Actions {
        finishIfFlushed(buffers)
    }

    /// The handler's reply is written or queued. `close`: it is the last one.
    mutating func replySent(close: Bool, _ buffers: Buffers) -> Actions {
        guard state == .handling else { return .none }
        if close {
            state = .closing(afterFailure: false)
            return Actions(reading: .pause).then(finishIfFlushed(buffers))
        }
        state = .reading(hasSpoken: true)
        let reading = updateReading(buffers)
        // While output is paused the write deadline runs; the next request's waits until the
        // client reads.
        if outputPaused { return reading.then(disarm()) }
        var actions = reading.then(arm(buffers.parserIdle ? .idle : .request))
        actions.process = true
        return actions
    }

    /// Output has to wait in the bufferevent; `buffers.queuedOutput` bytes wait now.
    mutating func outputQueued(_ buffers: Buffers) -> Actions {
        var actions = Actions.none
        if !writeDeadlineArmed {
            writeDeadlineArmed = true
            actions.writeDeadline = .arm
        }
        if buffers.queuedOutput > limits.maxQueuedOutput, !outputPaused {
            outputPaused = true
            actions = actions.then(updateReading(buffers))
        }
        return actions
    }

    /// A write left `resumeOutputBelow` or less queued.
    mutating func outputDrained(_ buffers: Buffers, draining: Bool) -> Actions {
        var actions = Actions.none
        if buffers.queuedOutput == 0, writeDeadlineArmed {
            writeDeadlineArmed = false
            actions.writeDeadline = .disarm
        }
        if outputPaused, buffers.queuedOutput <= limits.resumeOutputBelow {
            switch state {
            case .reading:
                outputPaused = false
                actions = actions.then(updateReading(buffers)).then(arm(buffers.parserIdle ? .idle : .request))
                actions.process = true
            case .handling:
                outputPaused = false
                actions = actions.then(updateReading(buffers))
            case .closing, .lingering, .closed:
                break
            }
        }
        guard buffers.queuedOutput == 0 else { return actions }
        if case .closing = state {
            return actions.then(finish(buffers))
        }
        return draining ? actions.then(drainRequested(buffers)) : actions
    }

    /// A pass over the parser's events ended: reading may pause or resume.
    mutating func inputConsumed(_ buffers: Buffers) -> Actions {
        updateReading(buffers)
    }

    /// The server is draining: close now if between requests with nothing unread or unsent.
    mutating func drainRequested(_ buffers: Buffers) -> Actions {
        guard case .reading = state, buffers.parserIdle, buffers.queuedOutput == 0 else { return .none }
        state = .closed
        return Actions(close: .draining)
    }

    /// The client closed its sending side.
    mutating func peerClosedSending() -> Actions {
        peerClosed = true
        switch state {
        case .lingering:
            state = .closed
            return Actions(close: .finished)
        case .reading:
            return Actions(process: true)
        case .handling, .closing, .closed:
            return .none
        }
    }

    /// A reset or a failed write: nobody is listening any more.
    mutating func connectionFailed() -> Actions {
        guard state != .closed else { return .none }
        state = .closed
        return Actions(close: .peerGone)
    }

    /// The timer's deadline passed.
    mutating func deadlinePassed() -> Actions {
        guard state != .closed else { return .none }
        let reason: CloseReason
        switch (deadline, state) {
        case (.firstByte?, .reading(hasSpoken: false)): reason = .firstByteTimeout
        // No reply: a client that has not finished its request is not listening for one.
        case (.request?, .reading): reason = .requestTimeout
        default: reason = .deadline
        }
        deadline = nil
        state = .closed
        return Actions(close: reason)
    }

    /// The client did not take its queued replies in time.
    mutating func writeDeadlinePassed() -> Actions {
        guard state != .closed else { return .none }
        writeDeadlineArmed = false
        state = .closed
        return Actions(close: .writeTimeout)
    }

    /// The connection was closed from outside (the server's shutdown).
    mutating func closed() {
        state = .closed
    }

    // MARK: Rules

    private mutating func arm(_ next: Deadline) -> Actions {
        deadline = next
        return Actions(timer: .arm(next))
    }

    private mutating func disarm() -> Actions {
        guard deadline != nil else { return .none }
        deadline = nil
        return Actions(timer: .disarm)
    }

    /// Stops reading while the connection holds as much as it may: output over `maxQueuedOutput`,
    /// or `pipelinedInput` waiting behind a request with its handler; reads again once neither
    /// holds. Closing and lingering connections manage reading themselves.
    private mutating func updateReading(_ buffers: Buffers) -> Actions {
        switch state {
        case .reading, .handling: break
        case .closing, .lingering, .closed: return .none
        }
        let hold = outputPaused || (state == .handling && buffers.unreadInput >= limits.pipelinedInput)
        guard hold != readPaused else { return .none }
        readPaused = hold
        return Actions(reading: hold ? .pause : .resume)
    }

    private mutating func finishIfFlushed(_ buffers: Buffers) -> Actions {
        buffers.queuedOutput == 0 ? finish(buffers) : .none
    }

    /// After the last reply is out: close, or half-close and linger. Closing with unread input
    /// would reset the connection and could destroy the reply before the client reads it (a 413
    /// while the body is still coming), so the connection closes at once only when the peer has
    /// closed, or after a complete request with nothing unread.
    private mutating func finish(_ buffers: Buffers) -> Actions {
        guard case .closing(let afterFailure) = state else { return .none }
        if peerClosed || (!afterFailure && buffers.unreadInput == 0) {
            state = .closed
            return Actions(close: .finished)
        }
        state = .lingering
        deadline = .linger
        return Actions(halfCloseAndLinger: true, timer: .arm(.linger))
    }
}
