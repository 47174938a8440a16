import Glibc

/// A blocking HTTP/1.1 client over a raw POSIX socket, so that the tests exercise the real
/// libevent server exactly as a remote client would, including keep-alive reuse and stalls.
public final class TestHTTPClient {
    public enum Failure: Error {
        case connectFailed(Int32)
        case sendFailed(Int32)
        case closedBeforeResponse
        case malformed(String)
    }

    private var fd: Int32
    private var pending: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; every read gives up after `timeout`.
    public init(port: Int, timeout: Duration = .seconds(5)) throws {
        switch Self.connectLoopback(port: port) {
        case .success(let fd): self.fd = fd
        case .failure(let error): throw Failure.connectFailed(error.code)
        }
        var limit = timeval(
            tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close() }

    /// A blocking TCP connection to 127.0.0.1:`port`, or the connect errno.
    static func connectLoopback(port: Int) -> Result<Int32, Errno> {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return .failure(Errno(code: errno)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard status == 0 else {
            let code = errno
            Glibc.close(fd)
            return .failure(Errno(code: code))
        }
        return .success(fd)
    }

    struct Errno: Error {
        let code: Int32
    }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw Failure.sendFailed(errno) }
            offset += written
        }
    }

    /// Sends `chunk` over and over without blocking, up to `limit` bytes in all, until the
    /// connection has accepted nothing for `stall`; returns how many bytes it accepted. Shows
    /// whether the server stops reading: then the kernel's buffers fill and sending stalls.
    public func sendUntilStalled(_ chunk: [UInt8], limit: Int, stall: Duration) -> Int {
        var sent = 0
        var lastProgress = ContinuousClock.now
        while sent < limit, ContinuousClock.now - lastProgress < stall {
            let written = chunk.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, min($0.count, limit - sent), Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
            }
            if written > 0 {
                sent += written
                lastProgress = .now
            } else if written < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                usleep(1_000)
            } else {
                break
            }
        }
        return sent
    }

    /// Sends as much of `bytes` as the connection takes now, without blocking: the count taken
    /// (0 when its buffers are full), or nil once the server has closed or reset it.
    public func sendWithoutBlocking(_ bytes: [UInt8]) -> Int? {
        let written = bytes.withUnsafeBytes {
            Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
        }
        if written >= 0 { return written }
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : nil
    }

    /// Reads and discards up to `count` bytes of what has arrived, without blocking: how many
    /// (0 when nothing waits), or nil once the server has closed or reset the connection.
    public func discardAvailable(upTo count: Int) -> Int? {
        var scratch = [UInt8](repeating: 0, count: count)
        let read = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if read > 0 { return read }
        if read < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return 0 }
        return nil
    }

    /// Sends one request (HTTP/1.1, keep-alive unless a header says otherwise) and reads the reply.
    public func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) throws -> TestResponse {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + body)
        return try readResponse(toHead: method == "HEAD")
    }

    /// Reads one reply; `toHead`: the reply to a HEAD request, which has no body whatever its headers say.
    public func readResponse(toHead: Bool = false) throws -> TestResponse {
        let headerEnd = try readUntilHeaderEnd()
        let headText = String(decoding: pending[..<headerEnd], as: UTF8.self)
        pending.removeFirst(headerEnd + 4)
        var lines = headText.split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure.malformed(headText) }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingSpaces)
        }
        let response = TestResponse(status: status, headers: headers, body: [])
        if toHead || status == 204 || status == 304 || status < 200 { return response }
        if let length = response.header("Content-Length").flatMap({ Int($0) }) {
            while pending.count < length { guard try fill() else { throw Failure.closedBeforeResponse } }
            let body = Array(pending[..<length])
            pending.removeFirst(length)
            return TestResponse(status: status, headers: headers, body: body)
        }
        while try fill() {}
        defer { pending = [] }
        return TestResponse(status: status, headers: headers, body: pending)
    }

    /// Everything still unread until the server closes the connection (EOF or reset); nil if it
    /// stays open past the read timeout.
    public func readToClose() -> [UInt8]? {
        var scratch = [UInt8](repeating: 0, count: 4096)
        var bytes = pending
        pending = []
        while true {
            let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                bytes.append(contentsOf: scratch[..<count])
                continue
            }
            if count == 0 || errno == ECONNRESET { return bytes }
            return nil
        }
    }

    /// Waits until the server closes the connection (EOF or reset); false if it stays open.
    public func waitForClose() -> Bool {
        var scratch = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
        }
    }

    private func readUntilHeaderEnd() throws -> Int {
        let marker: [UInt8] = [13, 10, 13, 10]
        while true {
            if pending.count >= 4 {
                for index in 0...(pending.count - 4) where pending[index..<index + 4].elementsEqual(marker) {
                    return index
                }
            }
            guard try fill() else { throw Failure.closedBeforeResponse }
        }
    }

    /// Reads what is available; false on EOF.
    private func fill() throws -> Bool {
        var scratch = [UInt8](repeating: 0, count: 65_536)
        let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            pending.append(contentsOf: scratch[..<count])
            return true
        }
        if count == 0 || errno == ECONNRESET { return false }
        throw Failure.malformed("recv failed: errno \(errno)")
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
