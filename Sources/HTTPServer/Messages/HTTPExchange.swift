/// One answered request, as the exchange observer sees it.
public struct HTTPExchange: Sendable {
    public let method: HTTPMethod
    /// The raw request path (percent-encoded, without query).
    public let path: String
    /// The matched route pattern ("/api/bids/{id}"), nil for 404/405: a bounded metrics label.
    public let route: String?
    public let status: Int
    public let duration: Duration
    public let requestID: String
    /// The request's trace context; the access log names its trace and span.
    public let trace: TraceContext
    /// What the handler added for the access log (a bulk request's item counts, say).
    public let logFields: [(String, String)]
}

/// What is known of an exchange when the request arrives; completed by the reply.
struct HTTPExchangeStart: Sendable {
    let method: HTTPMethod
    let path: String
    let route: String?
    let requestID: String
    let trace: TraceContext
    let started: ContinuousClock.Instant

    func finished(status: Int, logFields: [(String, String)] = []) -> HTTPExchange {
        HTTPExchange(
            method: method, path: path, route: route, status: status,
            duration: started.duration(to: .now), requestID: requestID, trace: trace,
            logFields: logFields)
    }
}
