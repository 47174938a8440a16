/// A route's own request-body limit, for a route whose bodies are legitimately larger (or must be
/// smaller) than the server's general `maxBodySize`.
///
/// evhttp 2.1 has one body limit per server, enforced before any handler runs; the server sets it
/// to the largest limit of any route and checks each route's own limit once the body is read,
/// answering 413 with a JSON error that names the limit (`setting`, the name an operator changes).
public struct RouteBodyLimit: Sendable, Equatable {
    public let bytes: Int
    /// The setting that controls the limit ("MAX_BULK_BODY_SIZE"), quoted in the 413.
    public let setting: String

    public init(bytes: Int, setting: String) {
        self.bytes = bytes
        self.setting = setting
    }

    /// The 413 reply for a body over this limit.
    func answerTooLarge(_ responder: HTTPResponder) {
        let message = "request body is larger than \(setting) (\(bytes) bytes)"
        responder.respond(
            status: 413, headers: Router.jsonContentType, body: Array(#"{"error":"\#(message)"}"#.utf8))
    }
}
