/// Where a responder's single reply goes.
///
/// `@unchecked Sendable` because the connection case holds a loop-owned object: a sink is only
/// ever invoked on its responder's loop thread (the responder hops there first).
enum ResponseSink: @unchecked Sendable {
    /// A request read from a live connection.
    case connection(HTTPConnection, exchange: HTTPExchangeStart)
    /// In-process use: the reply is handed over as data.
    case capture((HTTPResponse) -> Void)

    func deliver(status: Int, headers: [(String, String)], body: [UInt8], logFields: [(String, String)] = []) {
        switch self {
        case .connection(let connection, let exchange):
            connection.send(status: status, headers: headers, body: body, exchange: exchange, logFields: logFields)
        case .capture(let capture):
            capture(HTTPResponse(status: status, headers: headers, body: body))
        }
    }
}
