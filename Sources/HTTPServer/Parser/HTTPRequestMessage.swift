/// One request as the parser framed it: raw (percent-encoded) path and query, fields in arrival
/// order, the whole body.
struct HTTPRequestMessage {
    var method: HTTPMethod
    /// The path of the origin-form target, still percent-encoded; "/" at least.
    var path: String
    /// What follows the first `?`, undecoded.
    var query: String
    var headers: [(String, String)]
    var body: [UInt8]
    /// The connection may carry another request after this one's reply.
    var keepAlive: Bool
    var isHTTP10: Bool
}
