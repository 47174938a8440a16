internal import CLibevent
internal import Glibc
internal import Synchronization

/// The HTTP side of one event loop: its listener, its router and the connections and requests it
/// has open.
///
/// Loop-thread only. `@unchecked Sendable` solely so that the server can pass it to its own
/// loop's `execute` (and responders can carry it); it is never touched from another thread.
/// Requests are framed by `HTTPRequestParser` on libevent bufferevents (docs/http-edge.md says
/// why the server has its own parser).
final class HTTPLoopServer: @unchecked Sendable {
    let loop: EventLoop
    let configuration: HTTPServerConfiguration
    let counters: HTTPServerCounters
    let limits: HTTPRequestParser.Limits
    private var listener: OpaquePointer?
    var router: Router
    /// Connections by identity; the table owns them, the C callbacks hold unretained pointers.
    private var connections: [ObjectIdentifier: HTTPConnection] = [:]
    private var drainTimer: LoopTimer?
    /// Fresh ids for requests that bring none.
    var requestIDs = RequestID()
    private var dateSecond = -1
    private var dateBytes: [UInt8] = []

    /// Requests handed to a handler and not yet answered, on this loop.
    private(set) var inFlight = 0
    /// Replies get `Connection: close` and idle connections are closed.
    private(set) var isDraining = false
    /// Everything is freed: requests still held by handlers are gone.
    private(set) var isClosed = false

    var observer: (@Sendable (HTTPExchange) -> Void)? { configuration.exchangeObserver }

    /// On the loop thread: listens on `listeningSocket` (which it then owns).
    init(
        loop: EventLoop, listeningSocket: Int32, configuration: HTTPServerConfiguration,
        counters: HTTPServerCounters, router: Router
    ) throws(HTTPServerError) {
        self.loop = loop
        self.configuration = configuration
        self.counters = counters
        self.router = router
        limits = HTTPRequestParser.Limits(
            maxRequestTargetLength: configuration.maxRequestTargetLength,
            maxHeadersSize: configuration.maxHeadersSize, maxHeaderCount: configuration.maxHeaderCount,
            maxBodySize: configuration.maxBodySize, smallestRouteBodyLimit: router.smallestBodyLimit)
        let me = Unmanaged.passUnretained(self).toOpaque()
        // Backlog 0: the socket is already listening.
        guard
            let listener = evconnlistener_new(
                loop.base,
                { _, fd, address, length, argument in
                    Unmanaged<HTTPLoopServer>.fromOpaque(argument!).takeUnretainedValue().accepted(
                        fd, address: address, length: length)
                }, me, UInt32(LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC), 0, listeningSocket)
        else {
            throw HTTPServerError.eventLoopCreationFailed("evconnlistener_new failed on \(loop.name)")
        }
        self.listener = listener
    }

    // MARK: Connections

    private func accepted(_ fd: Int32, address: UnsafeMutablePointer<sockaddr>?, length: Int32) {
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
        guard let bufferEvent = bufferevent_socket_new(loop.base, fd, Int32(BEV_OPT_CLOSE_ON_FREE.rawValue)) else {
            Glibc.close(fd)
            return
        }
        let connection = HTTPConnection(
            server: self, bufferEvent: bufferEvent, peerAddress: Self.peerAddress(address, length: length))
        connections[ObjectIdentifier(connection)] = connection
        counters.openConnections.add(1, ordering: .relaxed)
        connection.start()
    }

    func connectionClosed(_ connection: HTTPConnection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        counters.openConnections.subtract(1, ordering: .relaxed)
        drainProgressed()
    }

    private static func peerAddress(_ address: UnsafeMutablePointer<sockaddr>?, length: Int32) -> String {
        guard let address else { return "" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(address.pointee.sa_family)
        let written: UnsafePointer<CChar>? =
            switch family {
            case AF_INET:
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                    inet_ntop(AF_INET, &inet.pointee.sin_addr, &text, socklen_t(text.count))
                }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet in
                    inet_ntop(AF_INET6, &inet.pointee.sin6_addr, &text, socklen_t(text.count))
                }
            default: nil
            }
        guard written != nil else { return "" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The `Date` field value (IMF-fixdate), formatted once per second.
    var date: [UInt8] {
        let now = time(nil)
        if now != dateSecond {
            dateSecond = now
            var parts = tm()
            var seconds = now
            gmtime_r(&seconds, &parts)
            var text = [CChar](repeating: 0, count: 40)
            let count = strftime(&text, text.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
            dateBytes = text.prefix(count).map { UInt8(bitPattern: $0) }
        }
        return dateBytes
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
        if let listener { evconnlistener_free(listener) }
        listener = nil
        for connection in Array(connections.values) { connection.closeIfIdle() }
        drainTimer = loop.schedule(after: deadline) { [self] in close() }
        drainProgressed()
    }

    private func drainProgressed() {
        guard isDraining, !isClosed, inFlight == 0, connections.isEmpty else { return }
        // Often called from inside a connection's callback: close from a fresh one instead.
        loop.execute { [self] in
            if inFlight == 0, connections.isEmpty { close() }
        }
    }

    /// Closes the listener and whatever connections remain, then stops the loop.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        drainTimer?.cancel()
        drainTimer = nil
        if let listener { evconnlistener_free(listener) }
        listener = nil
        for connection in Array(connections.values) { connection.close() }
        counters.inFlightRequests.subtract(inFlight, ordering: .relaxed)
        inFlight = 0
        // Handlers capture the application's per-loop state; release it while the base lives.
        router = Router()
        loop.stop()
    }
}
