import Foundation

/// One competitor's products API, from a configured base URL (`https://dummyjson.com` or
/// `http://127.0.0.1:8081/v2`); pages are read from `<base>/products?limit=&skip=`.
///
/// `name` is the normalised base URL; it identifies the source in `competitor_prices.source`,
/// `poll_runs.source` and `competitor_product_map.source`, so it must not change spelling between
/// runs: scheme and host are lower-cased, a default port (80 for http, 443 for https), a trailing
/// slash and a trailing `/products` dropped, so `http://h:9000`, `http://h:9000/` and
/// `http://h:9000/products` are one source that stores its catalogue once. URLs with credentials, a
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
        // The products endpoint given instead of its base names the same source.
        if path.hasSuffix("/products") { path.removeLast("/products".count) }
        while path.hasSuffix("/") { path.removeLast() }
        var normalized = URLComponents()
        normalized.scheme = scheme
        normalized.host = components.host.map { $0.lowercased() }
        let defaultPort = scheme == "https" ? 443 : 80
        normalized.port = components.port == defaultPort ? nil : components.port
        normalized.percentEncodedPath = path
        guard let base = normalized.string else { throw .invalidSource(trimmed, "cannot be normalised") }
        guard let url = URL(string: base + "/products") else { throw .invalidSource(trimmed, "cannot be normalised") }
        self.name = base
        self.host = host
        self.productsURL = url
    }

    /// `COMPETITOR_SOURCES`: comma-separated base URLs; empty entries are ignored, duplicates kept once.
    public static func list(parsing text: String) throws(PollerConfigurationError) -> [CompetitorSource] {
        var sources: [CompetitorSource] = []
        for entry in text.split(separator: ",") where !String(entry).trimmedOfSpaces().isEmpty {
            // A URL would take "a;b" whole, as one source with a strange path.
            if entry.contains(";") {
                throw .invalidSource(
                    String(String(entry).trimmedOfSpaces()),
                    "separate sources with commas, not semicolons: \(entry.split(separator: ";").joined(separator: ","))"
                )
            }
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
