/// The request methods the router dispatches on.
///
/// `OTHER` stands for whatever else evhttp accepts (TRACE, CONNECT), so that such requests still
/// reach the router and get a proper 404/405 instead of libevent's HTML 501 page.
public enum HTTPMethod: String, Sendable, CaseIterable, Hashable {
    // swift-format-ignore: AlwaysUseLowerCamelCase
    // The cases spell the method tokens as they appear on the wire.
    case GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS
    case other = "OTHER"
}
