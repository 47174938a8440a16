internal import CLibevent

extension HTTPLoopServer {
    /// evhttp's request callback: copy the request out, route it, hand it to a handler.
    func handle(_ request: UnsafeMutablePointer<evhttp_request>) {
        requestStarted()
        let started = ContinuousClock.now
        let method = HTTPMethod(evhttp_request_get_command(request))
        let uri = evhttp_request_get_evhttp_uri(request)
        let rawPath = uri.flatMap { evhttp_uri_get_path($0) }.map { String(cString: $0) } ?? ""
        let path = rawPath.isEmpty ? "/" : rawPath
        let resolution = router.resolve(method: method, path: path, isPercentEncoded: true)
        let inputHeaders = evhttp_request_get_input_headers(request)
        let requestID = RequestID.accept(
            inputHeaders.flatMap { evhttp_find_header($0, "X-Request-ID") }.map { String(cString: $0) })
        var route: String?
        if case .found(let endpoint, _) = resolution { route = endpoint.pattern }
        let exchange = HTTPExchangeStart(
            method: method, path: path, route: route, requestID: requestID, started: started)
        let responder = HTTPResponder(loop: loop, sink: .libevent(request: request, server: self, exchange: exchange))
        switch resolution {
        case .notFound:
            Router.answerNotFound(responder)
        case .methodNotAllowed(let allow):
            Router.answerMethodNotAllowed(responder, allow: allow)
        case .found(let endpoint, let parameters):
            // evhttp enforced the largest limit of any route; this route's own is checked here.
            let limit = endpoint.bodyLimit ?? RouteBodyLimit(bytes: configuration.maxBodySize, setting: "MAX_BODY_SIZE")
            if let input = evhttp_request_get_input_buffer(request), evbuffer_get_length(input) > limit.bytes {
                limit.answerTooLarge(responder)
                return
            }
            let query = uri.flatMap { evhttp_uri_get_query($0) }.map { String(cString: $0) } ?? ""
            let parsed = HTTPRequest(
                method: method,
                path: PercentDecoding.decode(path[...]),
                query: PercentDecoding.parseQuery(query[...]),
                headers: Self.headers(of: request),
                body: Self.body(of: request),
                pathParameters: parameters,
                remoteAddress: Self.peerAddress(of: request),
                requestID: requestID)
            endpoint.handler(parsed, responder)
        }
    }

    /// libevent reads no body for HEAD and TRACE: one sent anyway would be parsed as the next
    /// request on the connection (request smuggling), so such a connection closes after the reply.
    static func leavesBodyUnread(_ request: UnsafeMutablePointer<evhttp_request>) -> Bool {
        let command = evhttp_request_get_command(request)
        guard command == EVHTTP_REQ_HEAD || command == EVHTTP_REQ_TRACE,
            let headers = evhttp_request_get_input_headers(request)
        else { return false }
        if evhttp_find_header(headers, "Transfer-Encoding") != nil { return true }
        return evhttp_find_header(headers, "Content-Length").map { String(cString: $0) != "0" } ?? false
    }

    /// Writes the reply; a responder calls this exactly once, on the loop thread.
    func send(
        _ request: UnsafeMutablePointer<evhttp_request>, status: Int, headers: [(String, String)], body: [UInt8],
        exchange: HTTPExchangeStart, logFields: [(String, String)] = []
    ) {
        // After `close()` the request was freed with its connection.
        guard !isClosed else { return }
        let output = evhttp_request_get_output_headers(request)
        for (name, value) in headers {
            evhttp_add_header(output, name, value)
        }
        evhttp_add_header(output, "X-Request-ID", exchange.requestID)
        observer?(exchange.finished(status: status, logFields: logFields))
        if isDraining || Self.leavesBodyUnread(request) { evhttp_add_header(output, "Connection", "close") }
        // evhttp writes the output buffer even for HEAD (leaving out only Content-Length), so a
        // body there would be read as the start of the next response on the connection.
        if !body.isEmpty, evhttp_request_get_command(request) != EVHTTP_REQ_HEAD {
            body.withUnsafeBytes { bytes in
                _ = evbuffer_add(evhttp_request_get_output_buffer(request), bytes.baseAddress, bytes.count)
            }
        }
        ReasonPhrase.withPhrase(for: status) { phrase in
            evhttp_send_reply(request, Int32(clamping: status), phrase, nil)
        }
        requestFinished()
    }

    // MARK: Copying out of libevent

    private static func headers(of request: UnsafeMutablePointer<evhttp_request>) -> HTTPHeaders {
        var fields: [(String, String)] = []
        guard let list = evhttp_request_get_input_headers(request) else { return HTTPHeaders() }
        var node = list.pointee.tqh_first
        while let field = node {
            fields.append((String(cString: field.pointee.key), String(cString: field.pointee.value)))
            node = field.pointee.next.tqe_next
        }
        return HTTPHeaders(fields)
    }

    /// One copy from the evbuffer's chain into an array sized up front.
    private static func body(of request: UnsafeMutablePointer<evhttp_request>) -> [UInt8] {
        guard let input = evhttp_request_get_input_buffer(request) else { return [] }
        let length = evbuffer_get_length(input)
        guard length > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            count = max(0, evbuffer_copyout(input, buffer.baseAddress, length))
        }
    }

    private static func peerAddress(of request: UnsafeMutablePointer<evhttp_request>) -> String {
        guard let connection = evhttp_request_get_connection(request) else { return "" }
        var address: UnsafeMutablePointer<CChar>?
        var port: UInt16 = 0
        evhttp_connection_get_peer(connection, &address, &port)
        return address.map { String(cString: $0) } ?? ""
    }
}
