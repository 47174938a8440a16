/// What one registered (method, pattern) pair leads to.
struct RouteEndpoint {
    let handler: HTTPHandler
    /// Names of the pattern's `{name}` segments, in order. Kept per endpoint, not per trie node,
    /// because `/a/{id}` and `/a/{key}` share a node but not their names.
    let parameterNames: [String]
    /// The pattern as registered ("/api/bids/{id}"): a bounded label for metrics and logs.
    let pattern: String
    /// The route's own body limit; nil = the server's `maxBodySize`.
    var bodyLimit: RouteBodyLimit? = nil
}
