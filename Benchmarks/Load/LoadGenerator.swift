import Glibc

/// A single-threaded HTTP/1.1 load generator on non-blocking POSIX sockets and epoll.
///
/// Each connection is keep-alive with one request in flight (no pipelining). Closed loop: a
/// connection sends again as soon as it has its answer. Open loop: request `k` of connection `i`
/// is due at `start + (k·C + i) / rate`, a constant rate spread evenly over the connections; a
/// connection still waiting for its previous answer sends late, and latency is measured from
/// the due time — so a server stall shows up as the latency every delayed request really saw
/// (coordinated omission corrected, as in wrk2) instead of as fewer, faster samples.
final class LoadGenerator {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let target: HTTPTarget
    private let plan: LoadPlan
    private let address: SocketAddress
    private let epoll: Epoll
    private var connections: [LoadConnection] = []
    private var result: LoadResult
    private var inFlight = 0

    private var start: UInt64 = 0
    private var measureFrom: UInt64 = 0
    private var end: UInt64 = 0
    private var nanosecondsPerRequest = 0.0

    /// Runs one plan against `target` on the calling thread and returns what it saw.
    static func run(_ target: HTTPTarget, _ plan: LoadPlan) throws -> LoadResult {
        let generator = try LoadGenerator(target: target, plan: plan)
        return generator.run()
    }

    private init(target: HTTPTarget, plan: LoadPlan) throws {
        precondition(plan.connections > 0 && !target.requests.isEmpty)
        self.target = target
        self.plan = plan
        address = try SocketAddress.resolve(host: target.host, port: target.port)
        epoll = try Epoll(capacity: max(64, plan.connections))
        result = LoadResult(target: target.name, plan: plan)
        for index in 0..<plan.connections {
            let connection = LoadConnection(index: index)
            guard let fd = address.connectNonBlocking() else {
                throw Failure(
                    description: "cannot connect to \(target.host):\(target.port): \(String(cString: strerror(errno)))")
            }
            connection.fd = fd
            guard epoll.add(fd, token: index, readable: true, writable: false) else {
                throw Failure(description: "epoll_ctl failed: errno \(errno)")
            }
            connections.append(connection)
        }
    }

    // MARK: Running

    private func run() -> LoadResult {
        Self.tightenTimerSlack()
        let cpuBefore = MonotonicClock.threadCPUTime()
        start = MonotonicClock.now()
        measureFrom = start + UInt64(plan.warmup * 1e9)
        end = measureFrom + UInt64(plan.duration * 1e9)
        let drainDeadline = end + UInt64(plan.drainTimeout * 1e9)

        switch plan.mode {
        case .closed:
            for connection in connections { send(connection, scheduledAt: nil) }
        case .open(let rate):
            nanosecondsPerRequest = 1e9 / rate
            for connection in connections {
                connection.sequence = 0
                connection.nextSendAt = dueTime(connection)
                connection.idleSince = start
            }
        }

        while true {
            let now = MonotonicClock.now()
            var nextDue = UInt64.max
            if case .open = plan.mode, now < drainDeadline {
                for connection in connections where !connection.inFlight && connection.fd >= 0 {
                    guard connection.nextSendAt < end else { continue }
                    if connection.nextSendAt <= now {
                        send(connection, scheduledAt: connection.nextSendAt)
                    } else {
                        nextDue = min(nextDue, connection.nextSendAt)
                    }
                }
            }
            if now >= drainDeadline { break }
            if now >= end, inFlight == 0, nextDue == .max { break }
            let limit = min(nextDue, now < end ? end : drainDeadline)
            epoll.wait(timeout: limit > now ? limit - now : 0) { ready in
                self.handle(self.connections[ready.token], ready)
            }
        }

        result.unanswered = inFlight
        if case .open = plan.mode {
            for connection in connections {
                // Due inside the window but never sent: the server fell too far behind.
                var sequence = connection.sequence + (connection.inFlight ? 1 : 0)
                while true {
                    let due = dueTime(connection.index, sequence)
                    guard due < end else { break }
                    if due >= measureFrom { result.unsentInWindow += 1 }
                    sequence += 1
                }
            }
        }
        for connection in connections { connection.reset() }
        result.wallSeconds = Double(MonotonicClock.now() - start) / 1e9
        result.generatorCPUSeconds = Double(MonotonicClock.threadCPUTime() - cpuBefore) / 1e9
        return result
    }

    private func dueTime(_ connection: LoadConnection) -> UInt64 {
        dueTime(connection.index, connection.sequence)
    }

    private func dueTime(_ index: Int, _ sequence: Int) -> UInt64 {
        start + UInt64((Double(sequence) * Double(plan.connections) + Double(index)) * nanosecondsPerRequest)
    }

    // MARK: Sending

    private func send(_ connection: LoadConnection, scheduledAt: UInt64?) {
        let now = MonotonicClock.now()
        connection.requestIndex = (connection.index &+ connection.sequence) % target.requests.count
        connection.written = 0
        connection.sentAt = now
        connection.scheduledAt = scheduledAt ?? now
        if let scheduledAt, connection.idleSince <= scheduledAt, now >= measureFrom {
            result.timerLag.record(max(1, (now - scheduledAt) / 1000))
        }
        connection.inFlight = true
        inFlight += 1
        write(connection)
    }

    private func write(_ connection: LoadConnection) {
        let request = target.requests[connection.requestIndex]
        while connection.written < request.count {
            let sent = request.withUnsafeBytes { raw in
                Glibc.send(
                    connection.fd, raw.baseAddress! + connection.written, raw.count - connection.written,
                    Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                connection.written += sent
            } else if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                if !connection.waitingToWrite {
                    connection.waitingToWrite = true
                    epoll.modify(connection.fd, token: connection.index, readable: true, writable: true)
                }
                return
            } else if sent < 0, errno == EINTR {
                continue
            } else {
                connectionFailed(connection)
                return
            }
        }
        if connection.waitingToWrite {
            connection.waitingToWrite = false
            epoll.modify(connection.fd, token: connection.index, readable: true, writable: false)
        }
    }

    // MARK: Receiving

    private func handle(_ connection: LoadConnection, _ ready: Epoll.Ready) {
        guard connection.fd >= 0 else { return }
        if ready.writable, connection.waitingToWrite { write(connection) }
        guard ready.readable || ready.failed, connection.fd >= 0 else { return }
        let space = LoadConnection.bufferSize - connection.filled
        let received = recv(connection.fd, connection.buffer.baseAddress! + connection.filled, space, 0)
        if received < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
        guard received > 0 else {
            connectionFailed(connection)
            return
        }
        connection.filled += received
        let scan = HTTPResponseScanner.scan(UnsafeRawBufferPointer(rebasing: connection.buffer[..<connection.filled]))
        switch scan {
        case .incomplete:
            if connection.filled == LoadConnection.bufferSize { connectionFailed(connection) }
        case .malformed:
            connectionFailed(connection)
        case .complete(let status, let length, let close):
            guard connection.inFlight else {
                // An answer nobody asked for: the connection is out of step.
                connectionFailed(connection)
                return
            }
            connection.consume(length)
            answered(connection, status: status)
            if close { reconnect(connection) }
            sendNext(connection)
        }
    }

    private func answered(_ connection: LoadConnection, status: Int) {
        let now = MonotonicClock.now()
        connection.inFlight = false
        connection.idleSince = now
        inFlight -= 1
        result.statusCounts[status, default: 0] += 1
        if now >= measureFrom, now <= end {
            result.answeredInWindow += 1
            if status == 200 { result.okInWindow += 1 }
        }
        let recorded: Bool
        switch plan.mode {
        case .closed: recorded = now >= measureFrom && now <= end
        case .open: recorded = connection.scheduledAt >= measureFrom && connection.scheduledAt < end
        }
        if recorded { result.latency.record(max(1, (now - connection.scheduledAt + 500) / 1000)) }
    }

    private func sendNext(_ connection: LoadConnection) {
        guard connection.fd >= 0 else { return }
        connection.sequence += 1
        switch plan.mode {
        case .closed:
            if MonotonicClock.now() < end { send(connection, scheduledAt: nil) }
        case .open:
            // Sent from the main loop when due (at once if already late).
            connection.nextSendAt = dueTime(connection)
        }
    }

    private func connectionFailed(_ connection: LoadConnection) {
        result.connectionErrors += 1
        if connection.inFlight {
            connection.inFlight = false
            inFlight -= 1
            result.failedRequests += 1
        }
        reconnect(connection)
        sendNext(connection)
    }

    private func reconnect(_ connection: LoadConnection) {
        let wasInFlight = connection.inFlight
        connection.reset()
        if wasInFlight { inFlight -= 1 }
        guard MonotonicClock.now() < end, let fd = address.connectNonBlocking() else {
            if MonotonicClock.now() < end { result.connectionErrors += 1 }
            return
        }
        connection.fd = fd
        if !epoll.add(fd, token: connection.index, readable: true, writable: false) {
            connection.reset()
            result.connectionErrors += 1
        }
    }

    /// Timer slack (50 µs by default) would add up to that much to every open-loop send; the
    /// generator thread asks for 1 ns. Best effort: without it the lag shows in `timerLag`.
    private static func tightenTimerSlack() {
        let fd = Glibc.open("/proc/thread-self/timerslack_ns", O_WRONLY)
        guard fd >= 0 else { return }
        _ = "1".withCString { Glibc.write(fd, $0, 1) }
        Glibc.close(fd)
    }
}
