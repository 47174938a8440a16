internal import Glibc

/// Limits and addresses of one `HTTPServer`. Every limit exists so that a slow or hostile client
/// costs a bounded amount of memory and time.
public struct HTTPServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks an ephemeral port; read the real one from `HTTPServer.boundPort`.
    public var port: Int = 8080
    /// Event-loop threads, each with its own listening socket.
    public var threads: Int = HTTPServerConfiguration.processorCount
    /// A larger request body gets 413 and the connection is closed: decided from
    /// `Content-Length` before the body is read; a chunked body is cut at the limit.
    public var maxBodySize: Int = 65_536
    /// The header field lines together (without the request line); larger gets 431.
    public var maxHeadersSize: Int = 16_384
    /// More header fields than this get 431.
    public var maxHeaderCount: Int = 100
    /// A longer request target (path and query) gets 414.
    public var maxRequestTargetLength: Int = 8_192
    /// Upper bound for receiving one request, from its first byte until it has been read whole,
    /// and for the client to take its replies once they have to wait to be written (from then
    /// until nothing is queued, however the client trickles): slow clients cannot pin connections.
    public var requestTimeout: Duration = .seconds(10)
    /// Replies queued for one connection beyond which it stops reading and taking requests, until
    /// the client has read them down to a quarter of this: a client that never reads holds at most
    /// this plus one reply.
    public var maxQueuedOutput: Int = 65_536
    /// How long a keep-alive connection may sit idle between requests.
    public var idleTimeout: Duration = .seconds(60)
    /// How long a new connection may stay silent before the first byte of its first request.
    ///
    /// Separate from `idleTimeout` because the two cases differ: a keep-alive connection that has
    /// been answered is a client saving a handshake, while one that has never sent a byte is at
    /// best a speculative preconnect and at worst a connect flood, each holding a descriptor, a
    /// bufferevent and the parser's state. HTTP clients send their request right after
    /// connecting, so the default is the request timeout's 10 s rather than the idle minute: a
    /// flood then needs six times the connection rate to hold the same number of descriptors. The
    /// read timeout (`idleTimeout`) applies too, so the shorter of the two wins.
    public var firstByteTimeout: Duration = .seconds(10)
    /// Pending-connection queue length of each listening socket (the kernel caps it at somaxconn).
    public var listenBacklog: Int = 1024

    /// Called on the loop thread as each reply is sent (access logs, metrics). Must be cheap and
    /// must not block: it runs on the hot path.
    public var exchangeObserver: (@Sendable (HTTPExchange) -> Void)?
    /// Which requests' traces are recorded (`HTTPRequest.trace.isSampled`); `.off` while no
    /// exporter is configured. Every request gets a trace context either way.
    public var traceSampler: TraceSampler = .off
    public init() {}

    static var processorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
