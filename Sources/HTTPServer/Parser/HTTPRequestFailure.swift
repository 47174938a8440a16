/// Why a request cannot be served, as the status and JSON message of the reply that ends its
/// connection, with what was learned of the request for the access log.
struct HTTPRequestFailure: Error, Equatable {
    let status: Int
    /// Fixed ASCII text without quotes or backslashes: it goes into the JSON body as it is.
    let message: String
    let method: HTTPMethod?
    let path: String
    /// The client's `X-Request-ID`, when the head got as far as its fields.
    let requestIDHeader: String?

    init(status: Int, message: String, method: HTTPMethod? = nil, path: String = "") {
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        requestIDHeader = nil
    }

    init(status: Int, message: String, request: HTTPRequestMessage?) {
        self.status = status
        self.message = message
        method = request?.method
        path = request?.path ?? ""
        requestIDHeader = request.flatMap { HTTPHeaders($0.headers)["X-Request-ID"] }
    }

    /// `{"error":"<message>"}`.
    var body: [UInt8] {
        Array(#"{"error":""#.utf8) + Array(message.utf8) + Array(#""}"#.utf8)
    }
}
