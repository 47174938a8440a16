import Dispatch
import Glibc
public import HTTPServer

/// One event loop serving a router over a private, unnamed Unix-domain socket: the real
/// connection and parser, the real request and response code, and no TCP port.
///
/// For the HTTP fuzz harness (`Tests/Fuzz`) and tests that need the exact bytes a client would
/// see. An abstract-namespace `AF_UNIX` listener goes through the same accept path as TCP:
/// `connect` completes at once in the kernel and nothing lingers in `TIME_WAIT`. The loop thread
/// is started once and serves any number of exchanges.
public final class InProcessHTTPServer: @unchecked Sendable {
    /// What came back for one `exchange`.
    public struct Exchange: Sendable {
        /// Everything the server wrote before it closed the connection (or before the timeout).
        public var response: [UInt8]
        /// The server had not closed the connection by the deadline.
        public var timedOut: Bool
    }

    /// A socket call on the client side failed.
    public struct SocketError: Error, CustomStringConvertible {
        public var operation: String
        public var errno: Int32
        public var description: String { "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
    }

    /// The server's one event loop.
    public let loop: EventLoop
    private let server: HTTPServer
    /// The listener's abstract address (`sun_path` starts with NUL), as `getsockname` gave it.
    private let address: sockaddr_un
    private let addressLength: socklen_t

    /// Starts the loop thread and builds the router on it, as `HTTPServer` does for each loop.
    /// `configuration.host`, `port` and `threads` are ignored.
    public init(
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

        // The server owns the listener from here on, and closes it whatever happens.
        let server = HTTPServer(configuration: configuration, makeRouter: makeRouter)
        server.adopt(listeningSocket: listener)
        try server.start()
        self.server = server
        self.loop = server.loops[0]
    }

    /// Requests accepted and not yet answered.
    public var inFlightRequests: Int { server.inFlightRequests }

    /// Connections still open.
    public var openConnections: Int { server.openConnections }

    /// Sends `request` on a fresh connection through `TestHTTPClient.exchange`: half-closes it and
    /// collects the reply bytes until the server closes the connection or `timeout` passes. Any
    /// thread but the loop's.
    public func exchange(_ request: [UInt8], timeout: Duration = .seconds(2)) throws -> Exchange {
        precondition(!loop.inEventLoop, "exchange would block the loop that must answer it")
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        var address = self.address
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, addressLength) }
        }
        guard connected == 0 else {
            let error = errno
            Glibc.close(fd)
            throw SocketError(operation: "connect", errno: error)
        }
        // The client owns the socket from here on and closes it when it goes.
        let client = TestHTTPClient(connectedSocket: fd)
        defer { client.close() }
        let (response, timedOut) = try client.exchange(request, timeout: timeout)
        return Exchange(response: response, timedOut: timedOut)
    }

    /// Returns once every piece of work queued on the loop before this call has run (handlers
    /// that answer "later" through `loop.execute` included). Any thread but the loop's.
    public func waitForLoop() {
        precondition(!loop.inEventLoop, "the loop cannot wait for itself")
        let done = DispatchSemaphore(value: 0)
        loop.execute { done.signal() }
        done.wait()
    }

    /// Closes the listener and connections at once, stops the loop and joins its thread. Any
    /// thread but the loop's.
    public func shutdown() {
        server.shutdown(deadline: .zero)
    }
}
