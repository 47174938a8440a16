/// One parsed request, copied out of libevent so that it can outlive the callback and cross
/// threads.
public struct HTTPRequest: Sendable {
    public let method: HTTPMethod
    /// Percent-decoded path, without the query.
    public let path: String
    /// Percent-decoded query parameters (`+` is a space); for a repeated name the last one wins.
    public let query: [String: String]
    public let headers: HTTPHeaders
    public let body: [UInt8]
    /// Filled by the router from the pattern's `{name}` segments.
    public let pathParameters: [String: String]
    /// The peer's IP address, without the port.
    public let remoteAddress: String
    /// The client's `X-Request-ID` when it is a sane token, otherwise one generated here; the
    /// server echoes it in the reply so both sides' logs can be joined.
    public let requestID: String
    /// The W3C trace context: the caller's trace from `traceparent`, or a new one.
    public let trace: TraceContext

    /// Also the way to build requests for handlers in tests, without a socket.
    public init(
        method: HTTPMethod, path: String, query: [String: String] = [:], headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [], pathParameters: [String: String] = [:], remoteAddress: String = "127.0.0.1",
        requestID: String = "", trace: TraceContext = .untraced
    ) {
        self.requestID = requestID
        self.trace = trace
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.pathParameters = pathParameters
        self.remoteAddress = remoteAddress
    }

    /// The same request with the router's parameters filled in.
    func with(pathParameters: [String: String]) -> HTTPRequest {
        HTTPRequest(
            method: method, path: path, query: query, headers: headers, body: body,
            pathParameters: pathParameters, remoteAddress: remoteAddress, requestID: requestID, trace: trace)
    }
}
