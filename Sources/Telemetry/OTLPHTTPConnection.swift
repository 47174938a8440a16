import Foundation
internal import Glibc

/// OTLP over plain HTTP/1.1 for `http://` endpoints: one kept-alive TCP connection, written and
/// read by the exporter's own thread, every step bounded by the export's timeout.
///
/// The thread that calls `post` does the whole exchange: no dispatch queue, no helper thread, no
/// timer, so an export wakes nothing but the exporter, once per batch. A connection the collector
/// closed while idle is noticed before the next write, or by the write or read failing before any
/// answer arrived; the export is then sent once more on a new connection. Name resolution
/// (`getaddrinfo`) happens on each new connection and is not bounded by the timeout.
/// Why not `URLSession`: docs/decisions/0030-otlp-export-over-our-own-http-connection.md.
final class OTLPHTTPConnection: OTLPTransport {
    private let host: String
    private let port: String
    /// The request up to the value of `Content-Length`.
    private let head: [UInt8]
    private let timeout: Duration
    private var socket: Int32 = -1

    /// Nil unless `endpoint` is an `http` URL with a host.
    init?(endpoint: URL, headers: [(String, String)], timeout: Duration) {
        guard endpoint.scheme?.lowercased() == "http", var host = endpoint.host, !host.isEmpty,
            let components = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)
        else { return nil }
        // An IPv6 literal, bracketed in the URL, is resolved bare.
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.host = host
        port = String(endpoint.port ?? 80)
        self.timeout = timeout
        var target = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { target += "?" + query }
        let hostField = host.contains(":") ? "[\(host)]" : host
        var text = "POST \(target) HTTP/1.1\r\nHost: \(hostField)"
        if let explicitPort = endpoint.port { text += ":\(explicitPort)" }
        text += "\r\nContent-Type: application/json\r\nUser-Agent: bidengine\r\n"
        // A field that could end the head early is left out rather than sent.
        for (name, value) in headers where !(name + value).utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) {
            text += "\(name): \(value)\r\n"
        }
        text += "Content-Length: "
        head = Array(text.utf8)
    }

    deinit { close() }

    func post(_ body: [UInt8]) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var request = head
        request.reserveCapacity(head.count + 24 + body.count)
        request += "\(body.count)\r\n\r\n".utf8
        request += body
        if socket >= 0, !isIdleAndOpen(socket) { close() }
        let reused = socket >= 0
        var result = exchange(request, deadline: deadline)
        if case .lost = result, reused {
            // The collector closed the kept-alive connection as the export went out.
            close()
            result = exchange(request, deadline: deadline)
        }
        switch result {
        case .answered(let status, let keepAlive):
            if !keepAlive { close() }
            return (200..<300).contains(status)
        case .lost, .failed:
            close()
            return false
        }
    }

    func close() {
        guard socket >= 0 else { return }
        Glibc.close(socket)
        socket = -1
    }

    // MARK: One exchange

    private enum Exchange {
        case answered(status: Int, keepAlive: Bool)
        /// The connection ended before any byte of an answer: worth one more try on a new one.
        case lost
        /// No usable answer: a timeout, a refused connection, a malformed answer.
        case failed
    }

    private func exchange(_ request: [UInt8], deadline: ContinuousClock.Instant) -> Exchange {
        if socket < 0 {
            guard let fd = connect(deadline: deadline) else { return .failed }
            socket = fd
        }
        switch send(request, deadline: deadline) {
        case .sent: break
        case .lost: return .lost
        case .failed: return .failed
        }
        return receive(deadline: deadline)
    }

    private enum Sending {
        case sent
        case lost
        case failed
    }

    private func send(_ request: [UInt8], deadline: ContinuousClock.Instant) -> Sending {
        var written = 0
        return request.withUnsafeBytes { bytes in
            while written < bytes.count {
                let count = Glibc.send(socket, bytes.baseAddress! + written, bytes.count - written, Int32(MSG_NOSIGNAL))
                if count >= 0 {
                    written += count
                } else if errno == EINTR {
                    continue
                } else if errno == EAGAIN || errno == EWOULDBLOCK {
                    guard Self.wait(socket, for: Int16(POLLOUT), until: deadline) else { return .failed }
                } else {
                    return errno == EPIPE || errno == ECONNRESET ? .lost : .failed
                }
            }
            return .sent
        }
    }

    private func receive(deadline: ContinuousClock.Instant) -> Exchange {
        var parser = CollectorResponseParser()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var answered = false
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
            let outcome: CollectorResponseParser.Outcome
            if count > 0 {
                answered = true
                outcome = parser.received(buffer[0..<count])
            } else if count == 0 {
                guard answered else { return .lost }
                outcome = parser.closed()
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                guard Self.wait(socket, for: Int16(POLLIN), until: deadline) else { return .failed }
                continue
            } else {
                return !answered && errno == ECONNRESET ? .lost : .failed
            }
            switch outcome {
            case .needMore: continue
            case .complete(let status, let keepAlive): return .answered(status: status, keepAlive: keepAlive)
            case .malformed: return .failed
            }
        }
    }

    // MARK: Sockets

    /// A new non-blocking connection to the first of the host's addresses that accepts in time.
    private func connect(deadline: ContinuousClock.Instant) -> Int32? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, port, &hints, &list) == 0 else { return nil }
        defer { freeaddrinfo(list) }
        var entry = list
        while let address = entry?.pointee {
            entry = address.ai_next
            let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            let fd = Glibc.socket(address.ai_family, type, 0)
            guard fd >= 0 else { continue }
            if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) == 0
                || (errno == EINPROGRESS && Self.wait(fd, for: Int16(POLLOUT), until: deadline)
                    && Self.error(of: fd) == 0)
            {
                var on: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            Glibc.close(fd)
            if ContinuousClock.now >= deadline { break }
        }
        return nil
    }

    /// True while nothing has arrived on the idle connection: a collector that closed it (or
    /// sent something unasked) makes it readable.
    private func isIdleAndOpen(_ fd: Int32) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&poller, 1, 0) == 0
    }

    /// Waits until `fd` is ready for `events` or `deadline` passes; false on the deadline or an error.
    private static func wait(_ fd: Int32, for events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else { return false }
            let (seconds, attoseconds) = left.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var poller = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&poller, 1, milliseconds)
            if ready > 0 { return true }
            if ready < 0, errno != EINTR { return false }
        }
    }

    /// The pending error of a socket whose connection attempt has finished.
    private static func error(of fd: Int32) -> Int32 {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return errno }
        return code
    }
}
