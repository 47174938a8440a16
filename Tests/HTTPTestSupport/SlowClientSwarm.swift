import Dispatch
import Foundation
import Glibc

/// Hundreds of hostile clients on non-blocking sockets, driven by a few threads with `poll`:
/// connections that trickle a request that never ends, or say nothing at all, and record when
/// (and whether) the server hung up on them.
///
/// Real threads rather than tasks: the cooperative pool has as many threads as cores (two here),
/// and blocking them in `poll` would starve every other test.
public final class SlowClientSwarm {
    /// What one connection does after connecting.
    public enum Behaviour: Sendable, Equatable {
        /// A request line and headers, one byte per tick, never ending (the header section never
        /// gets its blank line).
        case trickledHeaders
        /// Complete headers announcing `Content-Length: 1000`, a few body bytes, then one more
        /// byte per tick (`trickle`) or nothing at all.
        case stalledBody(trickle: Bool)
        /// Connects and sends nothing.
        case silent
    }

    /// How one connection ended, as the client saw it.
    public struct Outcome: Sendable {
        public let behaviour: Behaviour
        /// From the first byte sent (from the connect, for `.silent`) to the EOF or reset the
        /// server caused; nil when the connection was still open when the swarm gave up.
        public let closedAfter: Duration?
        /// Bytes the server sent: a slow client must get nothing (no reply was earned).
        public let bytesReceived: Int
        public let bytesSent: Int
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private final class Connection {
        let behaviour: Behaviour
        let script: [UInt8]
        let fd: Int32
        var sent = 0
        var received = 0
        var started: ContinuousClock.Instant?
        var closedAfter: Duration?

        init(behaviour: Behaviour, fd: Int32) {
            self.behaviour = behaviour
            self.fd = fd
            script = Self.script(for: behaviour)
            // A silent connection's only clock is the server's accept.
            if behaviour == .silent { started = .now }
        }

        var isOpen: Bool { closedAfter == nil }

        /// The request as far as it will ever get: header tricklers send it one byte per tick;
        /// stalled bodies send it whole on the first tick, then filler one byte per tick (or nothing).
        static func script(for behaviour: Behaviour) -> [UInt8] {
            switch behaviour {
            case .trickledHeaders:
                return Array("GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".utf8)
            case .stalledBody:
                return Array("POST /slow HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n{\"a\":".utf8)
            case .silent:
                return []
            }
        }

        /// The next byte of a trickle: the script, then filler that never completes anything.
        var nextByte: UInt8 { sent < script.count ? script[sent] : UInt8(ascii: "a") }
    }

    private let connections: [[Connection]]
    private let interval: Duration

    /// Connects one socket per entry of `behaviours` to 127.0.0.1:`port` (in the caller's
    /// thread, so that every connection is established before `run` starts the clock), split over
    /// `threads` threads that send one byte per connection every `interval`.
    public init(port: Int, behaviours: [Behaviour], threads: Int = 2, interval: Duration = .milliseconds(100))
        throws
    {
        var all: [Connection] = []
        for behaviour in behaviours {
            let fd: Int32
            switch TestHTTPClient.connectLoopback(port: port) {
            case .success(let connected): fd = connected
            case .failure(let error):
                for connection in all { Glibc.close(connection.fd) }
                throw Failure(description: "connect failed: errno \(error.code)")
            }
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            all.append(Connection(behaviour: behaviour, fd: fd))
        }
        let count = max(1, threads)
        connections = (0..<count).map { index in stride(from: index, to: all.count, by: count).map { all[$0] } }
        self.interval = interval
    }

    deinit {
        for group in connections {
            for connection in group { Glibc.close(connection.fd) }
        }
    }

    /// Runs every connection until the server has closed it or `giveUpAfter` has passed, and
    /// returns the outcomes in the order of the behaviours given. Blocks the caller.
    public func run(giveUpAfter: Duration) -> [Outcome] {
        let giveUp = ContinuousClock.now + giveUpAfter
        let finished = DispatchSemaphore(value: 0)
        for group in connections {
            let box = UncheckedBox(group)
            let interval = interval
            Thread {
                Self.drive(box.value, interval: interval, until: giveUp)
                finished.signal()
            }.start()
        }
        for _ in connections { finished.wait() }
        var outcomes: [Outcome] = []
        let total = connections.reduce(0) { $0 + $1.count }
        for index in 0..<total {
            let connection = connections[index % connections.count][index / connections.count]
            outcomes.append(
                Outcome(
                    behaviour: connection.behaviour, closedAfter: connection.closedAfter,
                    bytesReceived: connection.received, bytesSent: connection.sent))
        }
        return outcomes
    }

    // MARK: One thread

    private static func drive(_ group: [Connection], interval: Duration, until giveUp: ContinuousClock.Instant) {
        var nextTick = ContinuousClock.now
        var descriptors = group.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
        var scratch = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < giveUp, group.contains(where: \.isOpen) {
            let now = ContinuousClock.now
            if now >= nextTick {
                for connection in group where connection.isOpen { tick(connection, at: now) }
                nextTick = now + interval
            }
            let wait = (min(nextTick, giveUp) - ContinuousClock.now) / .milliseconds(1)
            let milliseconds = Int32(max(0, wait.rounded(.up)))
            // A negative descriptor is skipped; a closed one would keep reporting POLLHUP.
            for (index, connection) in group.enumerated() {
                descriptors[index].fd = connection.isOpen ? connection.fd : -1
            }
            guard poll(&descriptors, nfds_t(descriptors.count), milliseconds) > 0 else { continue }
            for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let connection = group[index]
                guard connection.isOpen else { continue }
                drain(connection, into: &scratch)
            }
        }
    }

    private static func tick(_ connection: Connection, at now: ContinuousClock.Instant) {
        let first = connection.started == nil
        if first { connection.started = now }
        switch connection.behaviour {
        case .silent:
            break
        case .trickledHeaders:
            send([connection.nextByte], on: connection)
        case .stalledBody(let trickle):
            if first {
                send(connection.script, on: connection)
            } else if trickle {
                send([connection.nextByte], on: connection)
            }
        }
    }

    private static func send(_ bytes: [UInt8], on connection: Connection) {
        let written = bytes.withUnsafeBytes { Glibc.send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written > 0 {
            connection.sent += written
        } else if written < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
            closed(connection)
        }
    }

    private static func drain(_ connection: Connection, into scratch: inout [UInt8]) {
        while true {
            let count = scratch.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                connection.received += count
                continue
            }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            closed(connection)
            return
        }
    }

    private static func closed(_ connection: Connection) {
        guard connection.isOpen, let started = connection.started else { return }
        connection.closedAfter = ContinuousClock.now - started
    }
}

/// Hands a thread-confined object to the one thread that will use it.
private struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
