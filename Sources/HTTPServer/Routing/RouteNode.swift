/// One path segment position in the router's trie.
///
/// Nodes live in one array and point at each other by index, so that `Router` stays a plain value
/// (copying it copies the routes) with no reference-typed tree behind it.
struct RouteNode {
    /// Children for literal segments, keyed by the decoded segment.
    var literalChildren: [Substring: Int] = [:]
    /// The child for a `{name}` segment; any segment matches it.
    var parameterChild: Int?
    /// Handlers of the routes that end here.
    var endpoints: [HTTPMethod: RouteEndpoint] = [:]
}
