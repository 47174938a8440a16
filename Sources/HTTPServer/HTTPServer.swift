internal import Glibc

/// An HTTP/1.1 server: one listening socket and one thread per event loop, each connection a
/// libevent bufferevent framed by the server's own parser (`HTTPRequestParser`).
///
/// Requests are handled on the loop that accepted their connection, with keep-alive and
/// pipelining (`HTTPConnection`). Each loop listens on its own `SO_REUSEPORT` socket so that the
/// kernel spreads connections evenly (`ListeningSockets` says why that beats one shared socket).
/// `makeRouter` runs once per loop, on that loop's thread, so each loop can own its own state
/// (its database connection) and the routes that capture it.
public final class HTTPServer: @unchecked Sendable {
    private enum Phase: Equatable {
        case idle, starting, running, draining, stopped
    }

    private struct State {
        var phase = Phase.idle
        var loops: [EventLoop] = []
        var loopServers: [HTTPLoopServer] = []
        /// Loop threads that have not yet freed their base.
        var runningLoops = 0
        var boundPort = 0
        /// A shutdown that arrived while `start()` was still running.
        var pendingShutdown: Duration?
        /// Loops whose threads nobody has joined yet.
        var unjoined: [EventLoop] = []
        /// Sockets bound by `bind()` and not yet handed to loops.
        var bound: ListeningSockets?
    }

    private let configuration: HTTPServerConfiguration
    private let makeRouter: @Sendable (EventLoop) -> Router
    private let counters = HTTPServerCounters()
    private let state = ConditionLock(State())

    public init(configuration: HTTPServerConfiguration, makeRouter: @escaping @Sendable (EventLoop) -> Router) {
        self.configuration = configuration
        self.makeRouter = makeRouter
    }

    /// Stopping a running server needs its threads; without `shutdown` first they are told to
    /// stop at once and left to finish on their own.
    deinit {
        if let bound = state.withLock({ $0.bound }) { for fd in bound.descriptors { Glibc.close(fd) } }
        let servers = state.withLock { $0.phase == .running ? $0.loopServers : [] }
        for server in servers { server.loop.execute { server.beginDrain(deadline: .zero) } }
    }

    /// Routes libevent's log messages (warnings about sockets, allocation failures) to `handler`;
    /// nil restores the default, a line on fd 2. Process-wide, like libevent's log.
    public static func setLibeventLogHandler(
        _ handler: (@Sendable (_ severity: LibeventLogSeverity, _ message: String) -> Void)?
    ) {
        LibeventRuntime.prepare()
        LibeventLog.shared.setHandler(handler)
    }

    // MARK: Observing

    /// The port actually bound (differs from the configuration's when that asked for 0).
    public var boundPort: Int { state.withLock { $0.boundPort } }

    /// The event loops, in the order their threads were started; empty before `start()`.
    public var loops: [EventLoop] { state.withLock { $0.loops } }

    /// Requests accepted and not yet answered, across all loops.
    public var inFlightRequests: Int { counters.inFlightRequests.load(ordering: .relaxed) }

    /// Connections currently open, across all loops.
    public var openConnections: Int { counters.openConnections.load(ordering: .relaxed) }

    /// Connections closed because a request had not arrived whole within `requestTimeout`
    /// (slowloris headers, stalled bodies), since start.
    public var requestTimeouts: Int { counters.requestTimeouts.load(ordering: .relaxed) }

    /// Connections closed because they sent nothing within `firstByteTimeout`, since start.
    public var firstByteTimeouts: Int { counters.firstByteTimeouts.load(ordering: .relaxed) }

    /// Connections closed because the client did not take its queued replies within
    /// `requestTimeout`, since start.
    public var writeTimeouts: Int { counters.writeTimeouts.load(ordering: .relaxed) }

    /// Times a connection stopped reading because more than `maxQueuedOutput` waited to be
    /// written to it, since start.
    public var outputPauses: Int { counters.outputPauses.load(ordering: .relaxed) }

    /// The most reply bytes any one connection has had waiting to be written at once, since start.
    public var largestQueuedOutput: Int { counters.largestQueuedOutput.load(ordering: .relaxed) }

    // MARK: Lifecycle

    /// Binds the listening sockets now (the kernel queues connections until `start()`), so that a
    /// busy or unusable address fails before slow start-up work rather than after it. Returns the
    /// bound port. Optional: `start()` binds by itself when this was not called.
    @discardableResult
    public func bind() throws -> Int {
        let sockets = try ListeningSockets.open(
            host: configuration.host, port: configuration.port, count: configuration.threads,
            backlog: configuration.listenBacklog)
        state.withLock { state in
            if let previous = state.bound { for fd in previous.descriptors { Glibc.close(fd) } }
            state.bound = sockets
            state.boundPort = sockets.port
        }
        return sockets.port
    }

    /// Binds (unless `bind()` did), starts one thread per loop and returns once every loop is listening.
    ///
    /// Throws `HTTPServerError` when the address is unusable or taken; the server is then
    /// stopped for good.
    public func start() throws {
        try state.withLock { state in
            guard state.phase == .idle else {
                throw HTTPServerError.invalidState("HTTPServer.start() may be called once, before shutdown")
            }
            state.phase = .starting
        }
        do {
            try startLoops()
        } catch {
            state.withLock { $0.phase = .stopped }
            throw error
        }
        let pending = state.withLock { state -> Duration? in
            state.phase = .running
            return state.pendingShutdown
        }
        if let pending { shutdown(deadline: pending) }
    }

    /// Graceful stop: stops accepting, lets the requests in flight finish and their replies go
    /// out (until `deadline`), closes every connection, frees the listeners and then each base, and joins
    /// the threads. From any thread; on one of the server's own loop threads it only starts the
    /// stop and returns (a loop cannot wait for itself).
    public func shutdown(deadline: Duration) {
        let servers = state.withLock { state -> [HTTPLoopServer] in
            switch state.phase {
            case .idle:
                state.phase = .stopped
                if let bound = state.bound { for fd in bound.descriptors { Glibc.close(fd) } }
                state.bound = nil
            case .starting:
                state.pendingShutdown = deadline
            case .running:
                state.phase = .draining
                return state.loopServers
            case .draining, .stopped:
                break
            }
            return []
        }
        for server in servers {
            server.loop.execute { server.beginDrain(deadline: deadline) }
        }
        if !isOnOwnLoop { waitUntilStopped() }
    }

    /// Blocks the caller (never a loop thread of this server) until shutdown has completed.
    public func waitUntilStopped() {
        precondition(!isOnOwnLoop, "waitUntilStopped() would deadlock on the server's own loop")
        let toJoin = state.wait(until: { $0.phase == .stopped }) { state -> [EventLoop] in
            defer { state.unjoined = [] }
            return state.unjoined
        }
        for loop in toJoin { loop.join() }
    }

    // MARK: Starting

    private func startLoops() throws {
        let prebound = state.withLock { state -> ListeningSockets? in
            defer { state.bound = nil }
            return state.bound
        }
        let sockets =
            try prebound
            ?? ListeningSockets.open(
                host: configuration.host, port: configuration.port, count: configuration.threads,
                backlog: configuration.listenBacklog)
        var handedOver = 0
        do {
            for (index, fd) in sockets.descriptors.enumerated() {
                handedOver = index + 1
                try startLoop(index: index, listeningSocket: fd)
            }
        } catch {
            for fd in sockets.descriptors[handedOver...] { Glibc.close(fd) }
            stopStartedLoops()
            throw error
        }
        state.withLock { $0.boundPort = sockets.port }
    }

    /// Starts one loop; the socket ends up owned by the loop's listener or closed, whatever happens.
    private func startLoop(index: Int, listeningSocket: Int32) throws {
        let loop: EventLoop
        do {
            loop = try EventLoop(name: "http-loop-\(index)")
        } catch {
            Glibc.close(listeningSocket)
            throw error
        }
        // Set by the loop thread; nil afterwards means setup never ran (no thread).
        let setupRan = ConditionLock(false)
        let created = ConditionLock<HTTPLoopServer?>(nil)
        let configuration = configuration
        let counters = counters
        let makeRouter = makeRouter
        let state = state
        state.withLock { $0.runningLoops += 1 }
        do {
            try loop.start(
                setup: {
                    setupRan.withLock { $0 = true }
                    let router = makeRouter(loop)
                    do {
                        let server = try HTTPLoopServer(
                            loop: loop, listeningSocket: listeningSocket, configuration: configuration,
                            counters: counters, router: router)
                        created.withLock { $0 = server }
                    } catch {
                        Glibc.close(listeningSocket)
                        throw error
                    }
                },
                onExit: {
                    state.withLock { state in
                        state.runningLoops -= 1
                        if state.runningLoops == 0, state.phase != .starting { state.phase = .stopped }
                    }
                })
        } catch {
            if setupRan.withLock({ $0 }) { loop.join() } else { Glibc.close(listeningSocket) }
            throw error
        }
        guard let server = created.withLock({ $0 }) else { return }
        state.withLock { state in
            state.loops.append(loop)
            state.loopServers.append(server)
            state.unjoined.append(loop)
        }
    }

    private func stopStartedLoops() {
        let (servers, loops) = state.withLock { state in
            defer {
                state.loopServers = []
                state.unjoined = []
            }
            return (state.loopServers, state.unjoined)
        }
        for server in servers { server.loop.execute { server.close() } }
        for loop in loops { loop.join() }
    }

    private var isOnOwnLoop: Bool {
        state.withLock { state in state.loops.contains { $0.inEventLoop } }
    }
}
