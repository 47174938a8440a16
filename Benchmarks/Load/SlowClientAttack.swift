import Foundation
import Histogram
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A sustained slowloris attack from one thread: header tricklers (a request line and headers,
/// one byte per tick, never finished) and stalled bodies (complete headers announcing a body, then
/// half of them trickle it one byte per tick and half send nothing more). Every connection the
/// server closes is replaced at once, so the attack keeps its size for as long as it runs, and
/// each closed connection's lifetime — from its first byte to the EOF or reset — is recorded.
final class SlowClientAttack: @unchecked Sendable {
    /// What the attack saw, as recorded in the JSON report.
    struct Summary: Codable, Sendable {
        let headerTricklers: Int
        let stalledBodies: Int
        let tickMilliseconds: Double
        let seconds: Double
        /// Connections opened, replacements included.
        let connectionsOpened: Int
        let connectFailures: Int
        /// Slow connections the server closed (EOF or reset seen by the attacker).
        let closedByServer: Int
        /// Slow connections that received any byte from the server: it must answer none of them.
        let answered: Int
        /// Lifetimes of the connections the server closed, first byte to EOF, seconds.
        let lifetimeMin: Double?
        let lifetimeP50: Double?
        let lifetimeP99: Double?
        let lifetimeMax: Double?
        /// Still open when the attack stopped, and the oldest of them (seconds since its first byte).
        let openAtEnd: Int
        let oldestOpenAtEnd: Double?
        /// CPU of the attack thread, in cores.
        let cpu: Double
    }

    private final class Slot {
        /// Header tricklers open with one byte; stalled bodies with the whole head of the request.
        let opening: Int
        let trickles: Bool
        let script: [UInt8]
        var fd: Int32 = -1
        var firstByteAt: UInt64 = 0
        var sent = 0
        var answered = false

        init(opening: Int, trickles: Bool, script: [UInt8]) {
            self.opening = opening
            self.trickles = trickles
            self.script = script
        }
    }

    private let address: SocketAddress
    private let headerTricklers: Int
    private let stalledBodies: Int
    private let tick: UInt64
    private let stopping = Atomic<Bool>(false)
    private let established = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let outcome = Mutex<Summary?>(nil)

    // MARK: Attack-thread state

    private var slots: [Slot] = []
    private var cpuBefore: UInt64 = 0
    private var opened = 0
    private var connectFailures = 0
    private var closed = 0
    private var answered = 0
    private var lifetimes = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)

    init(host: String, port: Int, headerTricklers: Int, stalledBodies: Int, tickMilliseconds: Double = 100) throws {
        address = try SocketAddress.resolve(host: host, port: port)
        self.headerTricklers = headerTricklers
        self.stalledBodies = stalledBodies
        tick = UInt64(tickMilliseconds * 1e6)
    }

    /// Starts the attack thread and returns once every slow connection is open and has sent its
    /// first bytes.
    func start() {
        Thread { [self] in run() }.start()
        established.wait()
    }

    /// Stops the attack, closes its connections and returns what it saw.
    func stop() -> Summary {
        stopping.store(true, ordering: .relaxed)
        finished.wait()
        return outcome.withLock { $0! }
    }

    // MARK: The attack thread

    private func run() {
        let started = MonotonicClock.now()
        cpuBefore = MonotonicClock.threadCPUTime()
        let host = address.family == AF_INET6 ? "[::1]" : "127.0.0.1"
        let headers = Array(
            "GET /api/bids?product_id=1 HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: slowloris\r\nX-a: ".utf8)
        let body = Array(
            "POST /api/bid HTTP/1.1\r\nHost: \(host)\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"product_id\":"
                .utf8)
        slots =
            (0..<headerTricklers).map { _ in Slot(opening: 1, trickles: true, script: headers) }
            + (0..<stalledBodies).map { index in Slot(opening: body.count, trickles: index % 2 == 0, script: body) }
        guard let epoll = try? Epoll(capacity: max(64, slots.count)) else {
            finish(started: started)
            established.signal()
            return
        }
        for index in slots.indices { open(index, epoll: epoll) }
        established.signal()
        var nextTick = MonotonicClock.now() + tick
        while !stopping.load(ordering: .relaxed) {
            let now = MonotonicClock.now()
            if now >= nextTick {
                for index in slots.indices { tick(index, epoll: epoll) }
                nextTick = now + tick
            }
            epoll.wait(timeout: nextTick > now ? nextTick - now : 0) { ready in
                self.readable(ready.token, epoll: epoll)
            }
        }
        finish(started: started)
    }

    /// Connects slot `index` and sends its opening: the first header byte, or the whole head of a
    /// request with a body. A failed connect leaves the slot empty until the next tick.
    private func open(_ index: Int, epoll: Epoll) {
        let slot = slots[index]
        guard let fd = address.connectNonBlocking() else {
            connectFailures += 1
            return
        }
        opened += 1
        slot.fd = fd
        slot.sent = 0
        slot.answered = false
        slot.firstByteAt = MonotonicClock.now()
        _ = epoll.add(fd, token: index, readable: true, writable: false)
        send(index, slot.opening, epoll: epoll)
    }

    /// One more byte from a trickler; a slot left empty by a failed connect tries again.
    private func tick(_ index: Int, epoll: Epoll) {
        if slots[index].fd < 0 {
            open(index, epoll: epoll)
        } else if slots[index].trickles {
            send(index, 1, epoll: epoll)
        }
    }

    /// Sends the next `count` bytes of the slot's script (filler once the script is spent: a
    /// header value or a body that never ends).
    private func send(_ index: Int, _ count: Int, epoll: Epoll) {
        let slot = slots[index]
        let bytes = (0..<count).map { offset in
            slot.sent + offset < slot.script.count ? slot.script[slot.sent + offset] : UInt8(ascii: "1")
        }
        let written = bytes.withUnsafeBytes { Glibc.send(slot.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written > 0 {
            slot.sent += written
        } else if written < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
            serverClosed(index, epoll: epoll)
        }
    }

    private func readable(_ index: Int, epoll: Epoll) {
        let slot = slots[index]
        guard slot.fd >= 0 else { return }
        var scratch = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while true {
            let count = withUnsafeMutableBytes(of: &scratch) { recv(slot.fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                if !slot.answered { answered += 1 }
                slot.answered = true
                continue
            }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            serverClosed(index, epoll: epoll)
            return
        }
    }

    /// EOF or reset: record the lifetime and put a fresh connection in the slot straight away.
    private func serverClosed(_ index: Int, epoll: Epoll) {
        let slot = slots[index]
        closed += 1
        lifetimes.record(max(1, (MonotonicClock.now() - slot.firstByteAt) / 1000))
        close(slot.fd)
        slot.fd = -1
        if !stopping.load(ordering: .relaxed) { open(index, epoll: epoll) }
    }

    private func finish(started: UInt64) {
        let now = MonotonicClock.now()
        let open = slots.filter { $0.fd >= 0 }
        let oldest = open.map { Double(now - $0.firstByteAt) / 1e9 }.max()
        for slot in open { close(slot.fd) }
        let seconds = { (microseconds: UInt64) in Double(microseconds) / 1e6 }
        let any = lifetimes.totalCount > 0
        outcome.withLock {
            $0 = Summary(
                headerTricklers: headerTricklers, stalledBodies: stalledBodies, tickMilliseconds: Double(tick) / 1e6,
                seconds: Double(now - started) / 1e9, connectionsOpened: opened, connectFailures: connectFailures,
                closedByServer: closed, answered: answered,
                lifetimeMin: any ? seconds(lifetimes.min) : nil,
                lifetimeP50: any ? seconds(lifetimes.valueAtPercentile(50)) : nil,
                lifetimeP99: any ? seconds(lifetimes.valueAtPercentile(99)) : nil,
                lifetimeMax: any ? seconds(lifetimes.max) : nil,
                openAtEnd: open.count, oldestOpenAtEnd: oldest,
                cpu: Double(MonotonicClock.threadCPUTime() - cpuBefore) / Double(max(1, now - started)))
        }
        finished.signal()
    }
}
