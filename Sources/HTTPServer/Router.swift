/// Maps (method, path) to handlers.
///
/// Patterns are literal segments and `{name}` segments ("/api/bids/{id}"). Paths without
/// parameters also sit in a dictionary keyed by the whole path, so the common request costs one
/// hash lookup; everything else walks a segment trie (literal children first, then the
/// parameter child, backtracking on a dead end), never a scan of all routes. A path registered
/// literally for other methods is not retried as a parameter: it answers 405 for its own route. A trailing slash is
/// a distinct path: register both variants if both should work.
public struct Router {
    private var nodes: [RouteNode] = [RouteNode()]
    private var literalRoutes: [String: Int] = [:]
    /// Nodes whose HEAD endpoint is their GET handler, added by `add(.GET, …)` rather than registered.
    private var implicitHead: Set<Int> = []
    /// Per-loop services that no handler captures but must live exactly as long as the routes.
    private var retained: [AnyObject] = []

    public init() {}

    /// Keeps `object` alive as long as this router (the server releases a loop's router, on that
    /// loop, when it stops): for background work a loop owns, such as a periodic sweep.
    public mutating func retain(_ object: AnyObject) {
        retained.append(object)
    }

    /// Wraps the handlers of every route whose pattern satisfies `predicate` (authentication for
    /// `/api/*`, say), after all routes are registered, so modules that register routes need not
    /// know about cross-cutting concerns.
    public mutating func wrapHandlers(where predicate: (String) -> Bool, _ wrap: (@escaping HTTPHandler) -> HTTPHandler)
    {
        for index in nodes.indices {
            for (method, endpoint) in nodes[index].endpoints where predicate(endpoint.pattern) {
                nodes[index].endpoints[method] = RouteEndpoint(
                    handler: wrap(endpoint.handler), parameterNames: endpoint.parameterNames, pattern: endpoint.pattern,
                    bodyLimit: endpoint.bodyLimit)
            }
        }
    }

    /// Registers `handler`; registering the same method and pattern again replaces it. With
    /// `bodyLimit`, the route's bodies are limited by it instead of the server's `maxBodySize`. A GET
    /// route answers HEAD too, with the same handler (RFC 9110 9.3.2: HEAD is GET without the
    /// content; the transport sends no body for HEAD), unless a HEAD handler is registered for it.
    public mutating func add(
        _ method: HTTPMethod, _ pattern: String, bodyLimit: RouteBodyLimit? = nil, _ handler: @escaping HTTPHandler
    ) {
        var node = 0
        var names: [String] = []
        var rest: Substring? = Self.stripLeadingSlash(pattern[...])
        while let current = rest {
            let (segment, next) = Self.firstSegment(current)
            rest = next
            if segment.count > 2, segment.hasPrefix("{"), segment.hasSuffix("}") {
                names.append(String(segment.dropFirst().dropLast()))
                node = child(of: node, parameter: true, literal: "")
            } else {
                node = child(of: node, parameter: false, literal: Substring(String(segment)))
            }
        }
        let endpoint = RouteEndpoint(handler: handler, parameterNames: names, pattern: pattern, bodyLimit: bodyLimit)
        nodes[node].endpoints[method] = endpoint
        if method == .HEAD {
            implicitHead.remove(node)
        } else if method == .GET, nodes[node].endpoints[.HEAD] == nil || implicitHead.contains(node) {
            nodes[node].endpoints[.HEAD] = endpoint
            implicitHead.insert(node)
        }
        if names.isEmpty { literalRoutes[pattern] = node }
    }

    /// The smallest of the routes' own body limits; nil when no route has one.
    var smallestBodyLimit: Int? {
        nodes.lazy.flatMap(\.endpoints.values).compactMap(\.bodyLimit?.bytes).min()
    }

    /// Answers `request` in process, as the server would: by its (already decoded) `path`,
    /// including the 404 and 405 replies. For tests and for calling one route from another.
    public func dispatch(_ request: HTTPRequest, to responder: HTTPResponder) {
        switch resolve(method: request.method, path: request.path, isPercentEncoded: false) {
        case .found(let endpoint, let parameters):
            endpoint.handler(request.with(pathParameters: parameters), responder)
        case .methodNotAllowed(let allow):
            Self.answerMethodNotAllowed(responder, allow: allow)
        case .notFound:
            Self.answerNotFound(responder)
        }
    }

    // MARK: Lookup

    /// Looks `path` up; when `isPercentEncoded`, segments are decoded before matching so that
    /// an encoded `/` inside a segment stays inside it.
    func resolve(method: HTTPMethod, path: String, isPercentEncoded: Bool) -> RouteResolution {
        if !isPercentEncoded || !path.utf8.contains(UInt8(ascii: "%")),
            let node = literalRoutes[path], let endpoint = nodes[node].endpoints[method]
        {
            return .found(endpoint, parameters: [:])
        }
        var values: [String] = []
        var allowed: Set<HTTPMethod> = []
        let start = Self.stripLeadingSlash(path[...])
        if let (endpoint, found) = search(
            node: 0, rest: start, method: method, decode: isPercentEncoded, values: &values, allowed: &allowed)
        {
            var parameters: [String: String] = [:]
            for (name, value) in zip(endpoint.parameterNames, found) { parameters[name] = value }
            return .found(endpoint, parameters: parameters)
        }
        if allowed.isEmpty { return .notFound }
        let allow = HTTPMethod.allCases.filter { allowed.contains($0) }.map(\.rawValue).joined(separator: ", ")
        return .methodNotAllowed(allow: allow)
    }

    private func search(
        node: Int, rest: Substring?, method: HTTPMethod, decode: Bool,
        values: inout [String], allowed: inout Set<HTTPMethod>
    ) -> (RouteEndpoint, [String])? {
        guard let rest else {
            let endpoints = nodes[node].endpoints
            if let endpoint = endpoints[method] { return (endpoint, values) }
            allowed.formUnion(endpoints.keys)
            return nil
        }
        let (raw, next) = Self.firstSegment(rest)
        let segment = decode ? Substring(PercentDecoding.decode(raw)) : raw
        if let child = nodes[node].literalChildren[segment] {
            if let found = search(
                node: child, rest: next, method: method, decode: decode, values: &values, allowed: &allowed)
            {
                return found
            }
            // The whole path is a literal route, only not for this method: that route's 405, not
            // a parameter's value (`GET /api/bids/batch` is not bid "batch").
            if next == nil, !nodes[child].endpoints.isEmpty { return nil }
        }
        if let child = nodes[node].parameterChild {
            values.append(String(segment))
            if let found = search(
                node: child, rest: next, method: method, decode: decode, values: &values, allowed: &allowed)
            {
                return found
            }
            values.removeLast()
        }
        return nil
    }

    // MARK: Building

    private mutating func child(of node: Int, parameter: Bool, literal: Substring) -> Int {
        if parameter, let existing = nodes[node].parameterChild { return existing }
        if !parameter, let existing = nodes[node].literalChildren[literal] { return existing }
        nodes.append(RouteNode())
        let index = nodes.count - 1
        if parameter { nodes[node].parameterChild = index } else { nodes[node].literalChildren[literal] = index }
        return index
    }

    // MARK: Segments

    /// "/a/b" → "a/b". A path that does not start with "/" is matched as it is.
    private static func stripLeadingSlash(_ path: Substring) -> Substring {
        path.first == "/" ? path.dropFirst() : path
    }

    /// Splits off the first segment; `nil` for the rest means there is none ("a" → ("a", nil),
    /// "a/" → ("a", "")), so that "/a" and "/a/" stay different paths.
    private static func firstSegment(_ path: Substring) -> (Substring, Substring?) {
        guard let slash = path.utf8.firstIndex(of: UInt8(ascii: "/")) else { return (path, nil) }
        return (path[..<slash], path[path.utf8.index(after: slash)...])
    }

    // MARK: Error replies

    static let jsonContentType = [("Content-Type", "application/json")]
    static let notFoundBody = Array(#"{"error":"not found"}"#.utf8)
    static let methodNotAllowedBody = Array(#"{"error":"method not allowed"}"#.utf8)

    static func answerNotFound(_ responder: HTTPResponder) {
        responder.respond(status: 404, headers: jsonContentType, body: notFoundBody)
    }

    static func answerMethodNotAllowed(_ responder: HTTPResponder, allow: String) {
        responder.respond(
            status: 405, headers: [("Allow", allow), ("Content-Type", "application/json")], body: methodNotAllowedBody)
    }
}
