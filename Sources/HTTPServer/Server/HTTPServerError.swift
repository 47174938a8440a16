internal import Glibc

/// Why the server (or a standalone loop) could not start; each case renders a message an operator
/// can act on without reading the code.
public enum HTTPServerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `host` did not resolve to an address to listen on.
    case invalidAddress(host: String, reason: String)
    /// `socket`/`bind`/`listen` failed, typically "Address already in use" or a privileged port.
    case bindFailed(host: String, port: Int, errno: Int32)
    case eventLoopCreationFailed(String)
    case threadStartFailed(errno: Int32)
    /// `start()` after `start()` or after `shutdown`.
    case invalidState(String)

    public var description: String {
        switch self {
        case .invalidAddress(let host, let reason):
            "cannot listen on host '\(host)': \(reason)"
        case .bindFailed(let host, let port, let code):
            "cannot listen on \(host):\(port): \(Self.text(code)) (errno \(code))"
        case .eventLoopCreationFailed(let what):
            "cannot create event loop: \(what)"
        case .threadStartFailed(let code):
            "cannot start event-loop thread: \(Self.text(code)) (errno \(code))"
        case .invalidState(let what):
            what
        }
    }

    private static func text(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
