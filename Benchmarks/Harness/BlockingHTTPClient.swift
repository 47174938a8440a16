import Glibc

/// One request on a fresh connection, waiting with `poll`: readiness checks and `/metrics`
/// scrapes, outside the measured load.
enum BlockingHTTPClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    struct Response {
        let status: Int
        /// The whole response, head included (scrapes only look for lines in it).
        let text: String
    }

    static func request(
        host: String, port: Int, method: String = "GET", path: String,
        headers: [(String, String)] = [], body: [UInt8] = [], timeout: Double = 5
    ) throws -> Response {
        let address = try SocketAddress.resolve(host: host, port: port)
        guard let fd = address.connectNonBlocking() else {
            throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let deadline = MonotonicClock.now() + UInt64(timeout * 1e9)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        let request = Array(head.utf8) + body
        var written = 0
        while written < request.count {
            try waitFor(fd, events: Int16(POLLOUT), until: deadline)
            let sent = request.withUnsafeBytes {
                send(fd, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL))
            }
            if sent < 0, errno != EAGAIN, errno != EINTR { throw Failure(description: "send failed: errno \(errno)") }
            written += max(0, sent)
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let scan = received.withUnsafeBytes { HTTPResponseScanner.scan($0) }
            switch scan {
            case .complete(let status, let length, _):
                return Response(status: status, text: String(decoding: received[..<length], as: UTF8.self))
            case .malformed(let reason):
                throw Failure(description: "malformed response from \(host):\(port)\(path): \(reason)")
            case .incomplete:
                break
            }
            try waitFor(fd, events: Int16(POLLIN), until: deadline)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if count == 0 { throw Failure(description: "\(host):\(port) closed the connection before answering") }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Failure(description: "recv failed: errno \(errno)")
            }
            received.append(contentsOf: chunk[..<count])
        }
    }

    private static func waitFor(_ fd: Int32, events: Int16, until deadline: UInt64) throws {
        let now = MonotonicClock.now()
        guard now < deadline else { throw Failure(description: "timed out") }
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        _ = poll(&descriptor, 1, Int32((deadline - now) / 1_000_000 + 1))
    }
}
