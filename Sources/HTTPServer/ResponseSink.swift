internal import CLibevent

/// Where a responder's single reply goes.
///
/// `@unchecked Sendable` because the libevent case holds loop-owned objects: a sink is only ever
/// invoked on its responder's loop thread (the responder hops there first).
enum ResponseSink: @unchecked Sendable {
    /// A live evhttp request, answered through the loop's server.
    case libevent(request: UnsafeMutablePointer<evhttp_request>, server: HTTPLoopServer, exchange: HTTPExchangeStart)
    /// In-process use: the reply is handed over as data.
    case capture((HTTPResponse) -> Void)

    func deliver(status: Int, headers: [(String, String)], body: [UInt8], logFields: [(String, String)] = []) {
        switch self {
        case .libevent(let request, let server, let exchange):
            server.send(
                request, status: status, headers: headers, body: body, exchange: exchange, logFields: logFields)
        case .capture(let capture):
            capture(HTTPResponse(status: status, headers: headers, body: body))
        }
    }
}
