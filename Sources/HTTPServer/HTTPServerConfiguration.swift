internal import Glibc

/// Limits and addresses of one `HTTPServer`. Every limit exists so that a slow or hostile client
/// costs a bounded amount of memory and time.
public struct HTTPServerConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// 0 picks an ephemeral port; read the real one from `HTTPServer.boundPort`.
    public var port: Int = 8080
    /// Event-loop threads, each with its own listening socket.
    public var threads: Int = HTTPServerConfiguration.processorCount
    /// A larger request body gets 413 and the connection is closed.
    public var maxBodySize: Int = 65_536
    /// Request line plus headers; larger gets 400.
    public var maxHeadersSize: Int = 16_384
    /// Upper bound for receiving one request, from its first byte until it has been read whole,
    /// and for any stall while writing a reply: slow clients cannot pin connections.
    public var requestTimeout: Duration = .seconds(10)
    /// How long a keep-alive connection may sit idle between requests.
    public var idleTimeout: Duration = .seconds(60)
    /// Pending-connection queue length of each listening socket (the kernel caps it at somaxconn).
    public var listenBacklog: Int = 1024

    /// Called on the loop thread as each reply is sent (access logs, metrics). Must be cheap and
    /// must not block: it runs on the hot path.
    public var exchangeObserver: (@Sendable (HTTPExchange) -> Void)?
    public init() {}

    static var processorCount: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }
}
