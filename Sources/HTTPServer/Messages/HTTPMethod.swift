/// The request methods the router dispatches on.
///
/// The server answers any other method token (CONNECT, TRACE, unknown ones) itself with 501 and
/// closes the connection; `other` remains for requests built in process.
public enum HTTPMethod: String, Sendable, CaseIterable, Hashable {
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // The cases spell the method tokens as they appear on the wire.
    case GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS
    case other = "OTHER"

    /// The method for a request-line token (case-sensitive, RFC 9110 §9.1); nil when the
    /// server does not implement it.
    init?(token: String) {
        guard let method = HTTPMethod(rawValue: token), method != .other else { return nil }
        self = method
    }
}
