import Foundation
import Glibc
import Synchronization

/// A collector on a loopback TCP port for the exporter's tests: it reads each HTTP/1.1 request
/// (head and `Content-Length` body), keeps it, and answers as told, each connection on a thread
/// of its own.
final class LoopbackCollector: @unchecked Sendable {
    enum Behaviour: Sendable {
        /// Answers every request with this status and a small JSON body.
        case answer(status: Int)
        /// Answers 200 with `Connection: close` and closes.
        case answerAndSayClose
        /// Answers 200 as if keeping the connection, then closes it without a word.
        case answerAndCloseQuietly
        /// Reads the request and never answers (the connection stays open until `stop`).
        case neverAnswer
    }

    struct CannotListen: Error {}

    struct Request: Sendable {
        let head: String
        let body: [UInt8]
    }

    private struct State {
        var requests: [Request] = []
        var connections = 0
        var sockets: [Int32] = []
    }

    let port: Int
    private let behaviour: Behaviour
    private let listener: Int32
    private let state = Mutex(State())

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else { throw CannotListen() }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    var requests: [Request] { state.withLock { $0.requests } }
    var connections: Int { state.withLock { $0.connections } }

    /// Stops accepting and ends every connection. Under the lock that `serve` closes its socket
    /// under, so that a descriptor number another test has reused is never shut down.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        state.withLock { state in
            for fd in state.sockets { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }

    deinit {
        stop()
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else {
                if errno == EINTR { continue }
                return
            }
            state.withLock { state in
                state.connections += 1
                state.sockets.append(fd)
            }
            Thread { [self] in serve(fd) }.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer {
            state.withLock { state in
                state.sockets.removeAll { $0 == fd }
                close(fd)
            }
        }
        var pending: [UInt8] = []
        while let request = Self.readRequest(fd, pending: &pending) {
            state.withLock { $0.requests.append(request) }
            switch behaviour {
            case .answer(let status):
                Self.write(
                    fd, "HTTP/1.1 \(status) Status\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
            case .answerAndSayClose:
                Self.write(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}")
                return
            case .answerAndCloseQuietly:
                Self.write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                return
            case .neverAnswer:
                continue
            }
        }
    }

    /// The next request on the connection, or nil when it closes first.
    private static func readRequest(_ fd: Int32, pending: inout [UInt8]) -> Request? {
        let separator = Array("\r\n\r\n".utf8)
        var headEnd: Int?
        while true {
            if headEnd == nil, let range = pending.firstRange(of: separator) { headEnd = range.upperBound }
            if let headEnd {
                let head = String(decoding: pending[..<headEnd], as: UTF8.self)
                let length =
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if pending.count >= headEnd + length {
                    let body = Array(pending[headEnd..<headEnd + length])
                    pending.removeFirst(headEnd + length)
                    return Request(head: head, body: body)
                }
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return nil }
            pending += chunk[0..<count]
        }
    }

    private static func write(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes {
                send(fd, $0.baseAddress! + written, $0.count - written, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { return }
            written += count
        }
    }
}
