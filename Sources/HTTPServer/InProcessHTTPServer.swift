internal import Glibc

/// One event loop serving a router over a private, unnamed Unix-domain socket: the real
/// connection and parser, the real request and response code, and no TCP port.
///
/// For the HTTP fuzz harness (`Tests/Fuzz`) and tests that need the exact bytes a client would
/// see. An abstract-namespace `AF_UNIX` listener goes through the same accept path as TCP:
/// `connect` completes at once in the kernel and nothing lingers in `TIME_WAIT`. The loop thread
/// is started once and serves any number of exchanges.
package final class InProcessHTTPServer: @unchecked Sendable {
    /// What came back for one `exchange`.
    package struct Exchange: Sendable {
        /// Everything the server wrote before it closed the connection (or before the timeout).
        package var response: [UInt8]
        /// The server had not closed the connection by the deadline.
        package var timedOut: Bool
    }

    /// A socket call on the client side failed.
    package struct SocketError: Error, CustomStringConvertible {
        package var operation: String
        package var errno: Int32
        package var description: String { "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
    }

    package let loop: EventLoop
    private let counters = HTTPServerCounters()
    /// The listener's abstract address (`sun_path` starts with NUL), as `getsockname` gave it.
    private let address: sockaddr_un
    private let addressLength: socklen_t
    // Created on the loop thread during start; afterwards touched only there, through `loop.execute`.
    private let server: HTTPLoopServer

    /// Starts the loop thread and builds the router on it, as `HTTPServer` does for each loop.
    /// `configuration.host`, `port` and `threads` are ignored.
    package init(
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
        makeRouter: @escaping @Sendable (EventLoop) -> Router
    ) throws {
        // Non-blocking, as evconnlistener requires: it accepts until EAGAIN.
        let listener = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard listener >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        // Binding only the family autobinds a unique abstract name; `listen` needs a bound socket.
        var family = sa_family_t(AF_UNIX)
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let bound = withUnsafePointer(to: &family) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sa_family_t>.size))
            }
        }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        guard bound == 0, named == 0, listen(listener, 64) == 0 else {
            let error = errno
            Glibc.close(listener)
            throw SocketError(operation: "bind/listen (AF_UNIX)", errno: error)
        }
        self.address = address
        self.addressLength = length

        let loop: EventLoop
        do {
            loop = try EventLoop(name: "http-inprocess")
        } catch {
            Glibc.close(listener)
            throw error
        }
        self.loop = loop
        let created = ConditionLock<HTTPLoopServer?>(nil)
        let counters = counters
        try loop.start(
            setup: {
                let router = makeRouter(loop)
                do {
                    let server = try HTTPLoopServer(
                        loop: loop, listeningSocket: listener, configuration: configuration, counters: counters,
                        router: router)
                    created.withLock { $0 = server }
                } catch {
                    Glibc.close(listener)
                    throw error
                }
            },
            onExit: {})
        server = created.withLock { $0! }
    }

    /// Requests accepted and not yet answered.
    package var inFlightRequests: Int { counters.inFlightRequests.load(ordering: .relaxed) }

    /// Connections still open.
    package var openConnections: Int { counters.openConnections.load(ordering: .relaxed) }

    /// Sends `request` on a fresh connection, half-closes it, and collects the reply bytes until
    /// the server closes the connection or `timeout` passes. Any thread but the loop's.
    package func exchange(_ request: [UInt8], timeout: Duration = .seconds(2)) throws -> Exchange {
        precondition(!loop.inEventLoop, "exchange would block the loop that must answer it")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        defer { Glibc.close(fd) }
        var address = self.address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, addressLength) }
        }
        guard connected == 0 else { throw SocketError(operation: "connect", errno: errno) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if request.isEmpty { _ = Glibc.shutdown(fd, Int32(Glibc.SHUT_WR)) }

        let deadline = ContinuousClock.now + timeout
        var response: [UInt8] = []
        var written = 0
        var buffer = [UInt8](repeating: 0, count: 16_384)
        // Writing and reading interleave: a server answering early (413, 400) must not leave this
        // side blocked on a full socket buffer.
        while true {
            let now = ContinuousClock.now
            guard now < deadline else { return Exchange(response: response, timedOut: true) }
            let sending = written < request.count
            var poller = pollfd(fd: fd, events: Int16(POLLIN) | (sending ? Int16(POLLOUT) : 0), revents: 0)
            let waitMs = Int32(clamping: max(1, (deadline - now).components.seconds * 1000 + 1))
            guard poll(&poller, 1, waitMs) >= 0 || errno == EINTR else {
                throw SocketError(operation: "poll", errno: errno)
            }
            if sending, poller.revents & (Int16(POLLOUT) | Int16(POLLERR) | Int16(POLLHUP)) != 0 {
                let count = request.withUnsafeBytes { bytes in
                    Glibc.send(fd, bytes.baseAddress! + written, request.count - written, Int32(MSG_NOSIGNAL))
                }
                if count > 0 {
                    written += count
                } else if count < 0, errno != EAGAIN, errno != EINTR {
                    // The server closed first (EPIPE/ECONNRESET): what it answered is still readable.
                    written = request.count
                }
                if written == request.count { _ = Glibc.shutdown(fd, Int32(Glibc.SHUT_WR)) }
            }
            if poller.revents & (Int16(POLLIN) | Int16(POLLHUP) | Int16(POLLERR)) != 0 {
                let count = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    response.append(contentsOf: buffer[0..<count])
                } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                    return Exchange(response: response, timedOut: false)
                }
            }
        }
    }

    /// Returns once every piece of work queued on the loop before this call has run (handlers
    /// that answer "later" through `loop.execute` included). Any thread but the loop's.
    package func waitForLoop() {
        precondition(!loop.inEventLoop, "the loop cannot wait for itself")
        let done = ConditionLock(false)
        loop.execute { done.withLock { $0 = true } }
        done.wait(until: { $0 }) { _ in }
    }

    /// Closes the listener and connections, stops the loop and joins its thread. Any thread but the loop's.
    package func shutdown() {
        let server = server
        server.loop.execute { server.close() }
        loop.join()
    }
}
