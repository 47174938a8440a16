import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A products API the tests control, on a plain blocking socket: one thread accepts, one thread
/// per connection reads a request head, records it (with the instant it arrived, for the rate
/// limit test) and answers as `reply` says — including the ways a real server misbehaves.
/// Every answer closes its connection, so each request is a fresh TCP connection.
final class PollerFakeServer: @unchecked Sendable {
    struct Request: Sendable {
        let path: String
        let query: [String: String]
        let headers: [String: String]
        let at: ContinuousClock.Instant

        var skip: Int { Int(query["skip"] ?? "") ?? -1 }
        var limit: Int { Int(query["limit"] ?? "") ?? -1 }
    }

    enum Reply: Sendable {
        case json(String, status: Int = 200, headers: [(String, String)] = [])
        /// Exactly these bytes, then close (for broken HTTP and lying headers).
        case raw([UInt8])
        /// Read the request, answer nothing, keep the connection open until the server stops.
        case hang
        /// Close the connection without a byte.
        case close
        /// Headers without Content-Length, then `chunk` every `interval`, `count` times.
        case drip(chunk: [UInt8], interval: Duration, count: Int)
    }

    let port: Int
    private let listener: Int32
    private let reply: @Sendable (Request, Int) -> Reply
    private let recorded = Mutex<[Request]>([])
    private let stopped = Atomic<Bool>(false)

    /// `reply` gets each request and its 0-based number.
    init(reply: @escaping @Sendable (Request, Int) -> Reply) throws {
        self.reply = reply
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                Glibc.bind(fd, pointer, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            Glibc.close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    deinit { stop() }

    /// A server answering every request with the page of `catalog` its limit and skip ask for.
    convenience init(catalog: [String], total: Int? = nil) throws {
        try self.init { request, _ in .json(Self.page(catalog, skip: request.skip, limit: request.limit, total: total))
        }
    }

    var requests: [Request] { recorded.withLock { $0 } }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }

    // MARK: Catalogues

    /// `{"id":…,"title":"Product …","price":…,"brand":"Brand","category":"things"}` for each (id, price lexeme).
    static func products(_ prices: [(Int, String)]) -> [String] {
        prices.map {
            #"{"id":\#($0.0),"title":"Product \#($0.0)","price":\#($0.1),"brand":"Brand","category":"things"}"#
        }
    }

    /// A DummyJSON page of `catalog` (raw product objects).
    static func page(_ catalog: [String], skip: Int, limit: Int, total: Int? = nil) -> String {
        let start = min(max(skip, 0), catalog.count)
        let slice = catalog[start..<min(start + max(limit, 0), catalog.count)]
        return
            #"{"products":[\#(slice.joined(separator: ","))],"total":\#(total ?? catalog.count),"skip":\#(skip),"limit":\#(limit)}"#
    }

    /// An IMF-fixdate `secondsFromNow` ahead, as a server writes `Retry-After` or `Date`.
    static func httpDate(secondsFromNow: Int) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return formatter.string(from: Date(timeIntervalSinceNow: Double(secondsFromNow)))
    }

    // MARK: Serving

    private func acceptLoop() {
        while !stopped.load(ordering: .acquiring) {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                if errno == EINTR { continue }
                return
            }
            let thread = Thread { [self] in serve(connection) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { Glibc.close(fd) }
        guard let head = readHead(fd) else { return }
        let index = recorded.withLock { requests in
            requests.append(head)
            return requests.count - 1
        }
        switch reply(head, index) {
        case .json(let body, let status, let headers):
            var text =
                "HTTP/1.1 \(status) Status\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            write(fd, Array((text + "\r\n" + body).utf8))
        case .raw(let bytes):
            write(fd, bytes)
        case .hang:
            while !stopped.load(ordering: .acquiring) { usleep(20_000) }
        case .close:
            break
        case .drip(let chunk, let interval, let count):
            write(fd, Array("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".utf8))
            for _ in 0..<count where !stopped.load(ordering: .acquiring) {
                usleep(
                    UInt32(
                        interval.components.seconds * 1_000_000 + interval.components.attoseconds / 1_000_000_000_000))
                guard write(fd, chunk) else { return }
            }
        }
        Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    private func readHead(_ fd: Int32) -> Request? {
        var buffer: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !buffer.suffix(4).elementsEqual([13, 10, 13, 10]) {
            let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            buffer.append(contentsOf: scratch[..<count])
            guard buffer.count < 65_536 else { return nil }
        }
        let arrived = ContinuousClock.now
        let lines = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count == 3 else { return nil }
        let target = String(parts[1])
        let path = String(target.prefix { $0 != "?" })
        var query: [String: String] = [:]
        if let mark = target.firstIndex(of: "?") {
            for pair in target[target.index(after: mark)...].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1)
                query[String(keyValue[0])] = keyValue.count > 1 ? String(keyValue[1]) : ""
            }
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return Request(path: path, query: query, headers: headers, at: arrived)
    }

    @discardableResult
    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}
