/// A route's own request-body limit, for a route whose bodies are legitimately larger (or must be
/// smaller) than the server's general `maxBodySize`.
///
/// The parser asks for the route's limit as soon as a request's head is complete, so a body over
/// it gets 413 from its `Content-Length` before it is read (a chunked body as soon as its chunks
/// pass the limit), with a JSON error that names the limit (`setting`, the name an operator
/// changes). The connection closes after the 413, since the body is never read.
public struct RouteBodyLimit: Sendable, Equatable {
    public let bytes: Int
    /// The setting that controls the limit ("MAX_BULK_BODY_SIZE"), quoted in the 413.
    public let setting: String

    public init(bytes: Int, setting: String) {
        self.bytes = bytes
        self.setting = setting
    }

    /// The error message of the 413 for a body over this limit.
    var tooLargeMessage: String {
        "request body is larger than \(setting) (\(bytes) bytes)"
    }
}
