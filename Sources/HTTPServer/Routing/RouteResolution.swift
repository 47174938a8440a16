/// The outcome of looking a request up in the router.
enum RouteResolution {
    case found(RouteEndpoint, parameters: [String: String])
    /// The path exists for other methods; `allow` is the ready-made `Allow` header value.
    case methodNotAllowed(allow: String)
    case notFound
}
