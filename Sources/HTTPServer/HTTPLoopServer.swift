internal import CLibevent
internal import Synchronization

/// The HTTP side of one event loop: its evhttp, its listening socket, its router and the
/// connections and requests it has open.
///
/// Loop-thread only. `@unchecked Sendable` solely so that the server can pass it to its own
/// loop's `execute` (and responders can carry it); it is never touched from another thread.
final class HTTPLoopServer: @unchecked Sendable {
    let loop: EventLoop
    let configuration: HTTPServerConfiguration
    let counters: HTTPServerCounters
    private var http: OpaquePointer?
    private var listener: OpaquePointer?
    var router: Router
    /// Connections by identity; the table owns them, the C callbacks hold unretained pointers.
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    /// Connections whose evhttp object does not exist yet (see `connectionCreated`).
    private var awaitingConnection: [HTTPConnection] = []
    private var connectionHook: OpaquePointer?
    private var drainTimer: LoopTimer?

    /// Requests handed to a handler and not yet answered, on this loop.
    private(set) var inFlight = 0
    /// Replies get `Connection: close` and idle connections are closed.
    private(set) var isDraining = false
    /// evhttp is freed: requests still held by handlers are gone.
    private(set) var isClosed = false

    var observer: (@Sendable (HTTPExchange) -> Void)? { configuration.exchangeObserver }

    /// On the loop thread: builds evhttp around `listeningSocket` (which it then owns).
    init(
        loop: EventLoop, listeningSocket: Int32, configuration: HTTPServerConfiguration,
        counters: HTTPServerCounters, router: Router
    ) throws(HTTPServerError) {
        self.loop = loop
        self.configuration = configuration
        self.counters = counters
        self.router = router
        try open(listeningSocket)
    }

    private func open(_ listeningSocket: Int32) throws(HTTPServerError) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        guard
            let hook = event_new(
                loop.base, -1, 0,
                { _, _, argument in
                    Unmanaged<HTTPLoopServer>.fromOpaque(argument!).takeUnretainedValue().attachNewConnections()
                }, me)
        else {
            throw HTTPServerError.eventLoopCreationFailed("event_new failed on \(loop.name)")
        }
        guard let http = evhttp_new(loop.base) else {
            event_free(hook)
            throw HTTPServerError.eventLoopCreationFailed("evhttp_new failed on \(loop.name)")
        }
        self.http = http
        connectionHook = hook
        evhttp_set_max_headers_size(http, configuration.maxHeadersSize)
        evhttp_set_max_body_size(http, router.largestBodySize(general: configuration.maxBodySize))
        // No default Content-Type: a reply carries one only when the handler gives it.
        evhttp_set_default_content_type(http, nil)
        evhttp_set_allowed_methods(http, HTTPMethod.allLibeventMethods)
        // Read (and discard) an oversized body before answering 413, so that the client is not
        // reset while still sending and actually sees the status.
        _ = evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE)
        evhttp_set_gencb(
            http,
            { request, argument in
                Unmanaged<HTTPLoopServer>.fromOpaque(argument!).takeUnretainedValue().handle(request!)
            }, me)
        evhttp_set_bevcb(
            http,
            { _, argument in
                Unmanaged<HTTPLoopServer>.fromOpaque(argument!).takeUnretainedValue().connectionCreated()
            }, me)
        guard let listener = evhttp_accept_socket_with_handle(http, listeningSocket) else {
            evhttp_free(http)
            self.http = nil
            event_free(hook)
            connectionHook = nil
            throw HTTPServerError.eventLoopCreationFailed("evhttp_accept_socket_with_handle failed on \(loop.name)")
        }
        self.listener = listener
    }

    // MARK: Connections

    /// evhttp's `bevcb`: a connection was accepted and needs a bufferevent.
    private func connectionCreated() -> OpaquePointer? {
        guard let bufferEvent = bufferevent_socket_new(loop.base, -1, 0) else { return nil }
        let connection = HTTPConnection(server: self, bufferEvent: bufferEvent)
        connection.install(base: loop.base, configuration: configuration)
        connections[ObjectIdentifier(connection)] = connection
        counters.openConnections.add(1, ordering: .relaxed)
        // evhttp wraps the bufferevent in its connection object only after this returns, and
        // offers no hook afterwards: come back once this accept has been handled.
        awaitingConnection.append(connection)
        if awaitingConnection.count == 1, let connectionHook { event_active(connectionHook, 0, 0) }
        return bufferEvent
    }

    private func attachNewConnections() {
        for connection in awaitingConnection {
            var argument: UnsafeMutableRawPointer?
            bufferevent_getcb(connection.bufferEvent, nil, nil, nil, &argument)
            guard let argument else { continue }
            let evcon = OpaquePointer(argument)
            connection.connection = evcon
            evhttp_connection_set_closecb(
                evcon,
                { _, argument in
                    let connection = Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue()
                    connection.server.connectionClosed(connection)
                }, Unmanaged.passUnretained(connection).toOpaque())
            if isDraining { connection.closeWhenIdle() }
        }
        awaitingConnection.removeAll(keepingCapacity: true)
    }

    func connectionClosed(_ connection: HTTPConnection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        connection.closed()
        counters.openConnections.subtract(1, ordering: .relaxed)
        drainProgressed()
    }

    // MARK: Requests

    func requestStarted() {
        inFlight += 1
        counters.inFlightRequests.add(1, ordering: .relaxed)
    }

    func requestFinished() {
        inFlight -= 1
        counters.inFlightRequests.subtract(1, ordering: .relaxed)
        drainProgressed()
    }

    // MARK: Draining

    /// Stops accepting, closes idle connections, and frees everything once the requests in
    /// flight are answered and their connections closed, or at `deadline` regardless.
    func beginDrain(deadline: Duration) {
        guard !isDraining, !isClosed else { return }
        isDraining = true
        if let http, let listener { evhttp_del_accept_socket(http, listener) }
        listener = nil
        for connection in connections.values { connection.closeWhenIdle() }
        drainTimer = loop.schedule(after: deadline) { [self] in close() }
        drainProgressed()
    }

    private func drainProgressed() {
        guard isDraining, !isClosed, inFlight == 0, connections.isEmpty else { return }
        // Often called from inside evhttp (a close callback, a reply): free it from a fresh
        // callback instead, where nothing of evhttp is on the stack.
        loop.execute { [self] in
            if inFlight == 0, connections.isEmpty { close() }
        }
    }

    /// Frees evhttp (closing whatever connections remain), then stops the loop.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        drainTimer?.cancel()
        drainTimer = nil
        counters.inFlightRequests.subtract(inFlight, ordering: .relaxed)
        inFlight = 0
        if let http { evhttp_free(http) }
        http = nil
        listener = nil
        if let connectionHook { event_free(connectionHook) }
        connectionHook = nil
        // Connections whose close callback never ran (none expected) still count as closed now.
        for connection in connections.values { connection.closed() }
        counters.openConnections.subtract(connections.count, ordering: .relaxed)
        connections = [:]
        // Handlers capture the application's per-loop state; release it while the base lives.
        router = Router()
        loop.stop()
    }
}
