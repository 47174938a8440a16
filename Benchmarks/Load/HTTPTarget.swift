import Glibc

/// Where load goes and what it sends: an address, and the complete wire requests (keep-alive
/// HTTP/1.1) that connections take in turn.
struct HTTPTarget: Sendable {
    struct InvalidURL: Error, CustomStringConvertible {
        let description: String
    }

    /// Short name used in tables and figure names (`bid`, `ceiling`, `baseline`).
    let name: String
    let host: String
    let port: Int
    let method: String
    let path: String
    let headers: [(String, String)]
    let bodies: [[UInt8]]
    /// Requests on the wire, built once so that sending costs one `send` and no formatting.
    let requests: [[UInt8]]

    init(
        name: String, host: String, port: Int, method: String, path: String, bodies: [[UInt8]],
        headers: [(String, String)]
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.method = method
        self.path = path
        self.headers = headers
        self.bodies = bodies
        let sendsBody = method != "GET" && method != "HEAD"
        requests = (sendsBody ? bodies : [[]]).map { body in
            var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\n"
            for (name, value) in headers { head += "\(name): \(value)\r\n" }
            if sendsBody { head += "Content-Length: \(body.count)\r\n" }
            head += "\r\n"
            return Array(head.utf8) + body
        }
    }

    /// `http://HOST[:PORT][/path]` → host, port, path. No TLS: the load generator speaks plain HTTP.
    static func parse(url: String) throws(InvalidURL) -> (host: String, port: Int, path: String) {
        guard url.hasPrefix("http://") else { throw InvalidURL(description: "\(url): only http:// URLs are supported") }
        let rest = url.dropFirst("http://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host = Substring(authority)
        var port = 80
        if authority.hasPrefix("[") {
            // [IPv6]:port
            guard let close = authority.firstIndex(of: "]") else {
                throw InvalidURL(description: "\(url): unterminated IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let value = Int(after.dropFirst()) else { throw InvalidURL(description: "\(url): bad port") }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let value = Int(authority[authority.index(after: colon)...]) else {
                throw InvalidURL(description: "\(url): bad port")
            }
            port = value
        }
        guard !host.isEmpty, (1...65535).contains(port) else {
            throw InvalidURL(description: "\(url): missing host or bad port")
        }
        return (String(host), port, path.isEmpty ? "/" : String(path))
    }
}
