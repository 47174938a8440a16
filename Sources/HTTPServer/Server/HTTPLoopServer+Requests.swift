extension HTTPLoopServer {
    /// The `Allow` value for `path` (percent-encoded): the methods its routes serve, or none.
    func allowedMethods(for path: String) -> String {
        if case .methodNotAllowed(let allow) = router.resolve(method: .other, path: path, isPercentEncoded: true) {
            return allow
        }
        return ""
    }

    /// The body limit of the route a request head leads to, for the parser to apply before the
    /// body is read; nil for a request no route takes (the server's `maxBodySize` applies).
    func bodyLimit(for message: HTTPRequestMessage) -> RouteBodyLimit? {
        guard
            case .found(let endpoint, _) = router.resolve(
                method: message.method, path: message.path, isPercentEncoded: true)
        else { return nil }
        return endpoint.bodyLimit ?? RouteBodyLimit(bytes: configuration.maxBodySize, setting: "MAX_BODY_SIZE")
    }

    /// A framed request from `connection`: route it and hand it to its handler.
    func handle(_ message: HTTPRequestMessage, on connection: HTTPConnection) {
        let started = ContinuousClock.now
        let headers = HTTPHeaders(message.headers)
        let requestID = requestIDs.accept(headers["X-Request-ID"])
        let trace = TraceContext.begin(headers: headers, sampler: configuration.traceSampler, random: &requestIDs)
        let resolution = router.resolve(method: message.method, path: message.path, isPercentEncoded: true)
        var route: String?
        if case .found(let endpoint, _) = resolution { route = endpoint.pattern }
        let exchange = HTTPExchangeStart(
            method: message.method, path: message.path, route: route, requestID: requestID, trace: trace,
            started: started)
        let responder = HTTPResponder(loop: loop, sink: .connection(connection, exchange: exchange))
        switch resolution {
        case .notFound:
            Router.answerNotFound(responder)
        case .methodNotAllowed(let allow):
            Router.answerMethodNotAllowed(responder, allow: allow)
        case .found(let endpoint, let parameters):
            // The parser has held the body to this route's limit (`bodyLimit(for:)`).
            let request = HTTPRequest(
                method: message.method,
                path: PercentDecoding.decode(message.path[...]),
                query: PercentDecoding.parseQuery(message.query[...]),
                headers: headers,
                body: message.body,
                pathParameters: parameters,
                remoteAddress: connection.peerAddress,
                requestID: requestID,
                trace: trace)
            endpoint.handler(request, responder)
        }
    }
}
