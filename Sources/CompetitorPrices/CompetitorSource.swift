import Foundation

/// One competitor's products API, from a configured base URL (`https://dummyjson.com` or
/// `http://127.0.0.1:8081/v2`); pages are read from `<base>/products?limit=&skip=`.
///
/// `name` is the normalised base URL; it identifies the source in `competitor_prices.source`,
/// `poll_runs.source` and `competitor_product_map.source`, so it must not change spelling between
/// runs: scheme and host are lower-cased and a trailing slash dropped. URLs with credentials, a
/// query or a fragment are refused, because the name is stored and logged as it is.
public struct CompetitorSource: Sendable, Hashable, CustomStringConvertible {
    public let name: String
    /// The rate limit's key: every source on this host shares one bucket, whatever the port or scheme.
    public let host: String
    let productsURL: URL

    public init(parsing text: String) throws(PollerConfigurationError) {
        let trimmed = String(text.trimmedOfSpaces())
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https"
        else { throw .invalidSource(trimmed, "expected an http:// or https:// URL") }
        guard let host = components.host?.lowercased(), !host.isEmpty else { throw .invalidSource(trimmed, "no host") }
        guard components.user == nil, components.password == nil else {
            throw .invalidSource(trimmed, "credentials in the URL would be stored and logged; not supported")
        }
        guard components.query == nil, components.fragment == nil else {
            throw .invalidSource(trimmed, "a base URL has no query or fragment; the poller adds limit and skip")
        }
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        var normalized = URLComponents()
        normalized.scheme = scheme
        normalized.host = components.host.map { $0.lowercased() }
        normalized.port = components.port
        normalized.percentEncodedPath = path
        guard let base = normalized.string else { throw .invalidSource(trimmed, "cannot be normalised") }
        // A base that already ends in /products is taken as the endpoint itself.
        let endpoint = path.hasSuffix("/products") ? base : base + "/products"
        guard let url = URL(string: endpoint) else { throw .invalidSource(trimmed, "cannot be normalised") }
        self.name = base
        self.host = host
        self.productsURL = url
    }

    /// `COMPETITOR_SOURCES`: comma-separated base URLs; empty entries are ignored, duplicates kept once.
    public static func list(parsing text: String) throws(PollerConfigurationError) -> [CompetitorSource] {
        var sources: [CompetitorSource] = []
        for entry in text.split(separator: ",") where !String(entry).trimmedOfSpaces().isEmpty {
            let source = try CompetitorSource(parsing: String(entry))
            if !sources.contains(source) { sources.append(source) }
        }
        return sources
    }

    /// `<products endpoint>?limit=<limit>&skip=<skip>`.
    func pageURL(limit: Int, skip: Int) -> URL {
        URL(string: productsURL.absoluteString + "?limit=\(limit)&skip=\(skip)")!
    }

    public var description: String { name }
}
