/// Why an attempt produced no response.
enum HTTPFetchFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// No response headers in time (connection, TLS handshake, or a server that never answers).
    case connectTimeout(Duration)
    /// The body stalled for longer than the read timeout.
    case readTimeout(Duration)
    /// The whole exchange took longer than the request timeout (a server dripping bytes).
    case requestTimeout(Duration)
    /// Declared by `Content-Length` or found while receiving; the transfer was abandoned.
    case bodyTooLarge(limit: Int)
    /// Refused, reset, closed early, unresolvable: worth another attempt.
    case network(String)
    /// The server's certificate was not trusted or the handshake failed: retrying cannot help.
    case tls(String)
    case cancelled

    var isRetryable: Bool {
        switch self {
        case .connectTimeout, .readTimeout, .requestTimeout, .network: return true
        case .bodyTooLarge, .tls, .cancelled: return false
        }
    }

    var description: String {
        switch self {
        case .connectTimeout(let limit): return "no response within the connect timeout (\(limit))"
        case .readTimeout(let limit): return "body stalled longer than the read timeout (\(limit))"
        case .requestTimeout(let limit): return "request took longer than the request timeout (\(limit))"
        case .bodyTooLarge(let limit): return "body larger than \(limit) bytes"
        case .network(let message): return "network error: \(message)"
        case .tls(let message): return "TLS error: \(message)"
        case .cancelled: return "cancelled"
        }
    }
}
