internal import CLibevent
internal import Glibc

/// One accepted connection: a bufferevent feeding `HTTPRequestParser`, requests handed to the
/// router one at a time (pipelined ones wait in the parser, so replies go out in order), and the
/// timeouts that keep slow clients from pinning it.
///
/// Loop-thread only. One timer serves four deadlines: `firstByteTimeout` from accept until the
/// first byte; `requestTimeout` from a request's first byte until it has been read whole (absolute,
/// so a client trickling one byte at a time cannot stretch it; not running while a handler
/// works); `idleTimeout` between requests; a short linger after the last reply. Writes use the
/// bufferevent's write timeout (`requestTimeout`). Reading goes on while a handler works, so that
/// a request costs no `epoll_ctl` to stop and restart it; the bytes wait in the parser, and once
/// `pipelinedInputLimit` of them wait, reading pauses until the reply, so a client cannot queue
/// unbounded pipelined input.
///
/// After an error reply, or a last reply with input still unread, the connection half-closes and
/// reads and discards whatever the client still sends until it closes its side or the linger
/// ends, rather than closing with unread input: that would reset the connection and could destroy
/// the reply before the client reads it (a 413 while the body is still coming).
final class HTTPConnection {
    private enum Deadline {
        case firstByte, request, idle, linger
    }

    /// What the reply to the request in the handler's hands needs to know.
    private struct Current {
        let isHEAD: Bool
        let keepAlive: Bool
        let isHTTP10: Bool
    }

    /// How long a half-closed connection waits for the client to close after the last reply.
    static let lingerTimeout = Duration.seconds(2)

    unowned let server: HTTPLoopServer
    private let bufferEvent: OpaquePointer
    /// The peer's IP address without the port; empty for a Unix-domain socket.
    let peerAddress: String
    private var parser: HTTPRequestParser
    private var timer: OpaquePointer?
    private var deadline = Deadline.firstByte
    private var current: Current?
    /// A byte has arrived at some point: the first-byte deadline no longer applies.
    private var hasSpoken = false
    /// The reply being written (or about to be) is the last one.
    private var closing = false
    /// The client has closed its sending side.
    private var peerClosed = false
    /// Half-closed after the last reply, discarding input until the client closes.
    private var lingering = false
    /// The last reply was an error: the client may still be sending the rejected request.
    private var failed = false
    /// Inside `process()`: replies given synchronously must not re-enter it.
    private var processing = false
    /// Reading paused because `pipelinedInputLimit` bytes wait behind the request in the handler.
    private var readPaused = false
    /// Input held while a handler works, beyond which reading pauses: a few pipelined requests.
    static let pipelinedInputLimit = 64 * 1024
    private(set) var isClosed = false

    init(server: HTTPLoopServer, bufferEvent: OpaquePointer, peerAddress: String) {
        self.server = server
        self.bufferEvent = bufferEvent
        self.peerAddress = peerAddress
        parser = HTTPRequestParser(limits: server.limits)
    }

    /// Installs the callbacks and the first-byte deadline; the server keeps `self` alive until
    /// `close()` reports back.
    func start() {
        let me = Unmanaged.passUnretained(self).toOpaque()
        bufferevent_setcb(
            bufferEvent,
            { _, argument in Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().readable() },
            { _, argument in Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().flushed() },
            { _, events, argument in
                Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().happened(Int32(events))
            }, me)
        var writeTimeout = server.configuration.requestTimeout.timeval
        bufferevent_set_timeouts(bufferEvent, nil, &writeTimeout)
        timer = event_new(
            server.loop.base, -1, 0,
            { _, _, argument in
                Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().deadlinePassed()
            }, me)
        bufferevent_enable(bufferEvent, Int16(EV_READ | EV_WRITE))
        arm(.firstByte)
    }

    /// Closes the connection now if it is between requests (draining); otherwise its next reply
    /// says `Connection: close`.
    func closeIfIdle() {
        guard current == nil, !closing, parser.isIdle,
            evbuffer_get_length(bufferevent_get_output(bufferEvent)) == 0
        else { return }
        close()
    }

    /// Frees everything at once. A request still with its handler counts as finished; its reply,
    /// if it ever comes, is dropped.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        if current != nil {
            current = nil
            server.requestFinished()
        }
        if let timer { event_free(timer) }
        timer = nil
        bufferevent_free(bufferEvent)
        server.connectionClosed(self)
    }

    // MARK: Reading

    private func readable() {
        let input = bufferevent_get_input(bufferEvent)
        let count = evbuffer_get_length(input)
        guard count > 0 else { return }
        if !lingering, !closing, let bytes = evbuffer_pullup(input, -1) {
            parser.append(UnsafeRawBufferPointer(start: bytes, count: count))
            hasSpoken = true
            // The first byte of a request starts its deadline; later bytes do not move it. Bytes
            // that arrive while a handler works wait for its reply, which starts their deadline.
            if current == nil, deadline != .request { arm(.request) }
            if current != nil, parser.bufferedCount >= Self.pipelinedInputLimit {
                bufferevent_disable(bufferEvent, Int16(EV_READ))
                readPaused = true
            }
        }
        evbuffer_drain(input, count)
        if !lingering, !closing { process() }
    }

    /// Takes events from the parser until a request is with a handler, more bytes are needed, or
    /// the connection is done.
    private func process() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while current == nil, !closing, !isClosed {
            guard let event = parser.next() else {
                if peerClosed {
                    // Nothing more will arrive: a partial request is dropped unanswered.
                    closing = true
                    closeWhenFlushed()
                }
                return
            }
            switch event {
            case .continueExpected:
                _ = Self.continueLine.withUnsafeBytes { bufferevent_write(bufferEvent, $0.baseAddress, $0.count) }
            case .request(let message):
                current = Current(
                    isHEAD: message.method == .HEAD, keepAlive: message.keepAlive, isHTTP10: message.isHTTP10)
                disarm()
                server.requestStarted()
                server.handle(message, on: self)
            case .failure(let failure):
                answer(failure)
            }
        }
    }

    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    // MARK: Writing

    /// The handler's reply to the current request; ignored once the connection is closed.
    func send(
        status: Int, headers: [(String, String)], body: [UInt8], exchange: HTTPExchangeStart,
        logFields: [(String, String)] = []
    ) {
        guard !isClosed, let request = current else { return }
        current = nil
        var close = closing || !request.keepAlive || server.isDraining
        for (name, value) in headers where HTTPHeaders.equalIgnoringASCIICase(name, "Connection") {
            if HTTPHeaders.equalIgnoringASCIICase(value, "close") { close = true }
        }
        server.observer?(exchange.finished(status: status, logFields: logFields))
        // Finished before the write: the reply may reach the client within `write`.
        server.requestFinished()
        write(
            status: status, headers: headers, body: body, requestID: exchange.requestID, close: close,
            isHEAD: request.isHEAD, isHTTP10: request.isHTTP10)
        guard !isClosed else { return }
        if close {
            closing = true
            bufferevent_disable(bufferEvent, Int16(EV_READ))
            closeWhenFlushed()
            return
        }
        if readPaused {
            readPaused = false
            bufferevent_enable(bufferEvent, Int16(EV_READ))
        }
        arm(parser.isIdle ? .idle : .request)
        process()
    }

    /// The error reply for a request that could not be framed; the connection closes after it.
    private func answer(_ failure: HTTPRequestFailure) {
        closing = true
        failed = true
        disarm()
        let exchange = HTTPExchangeStart(
            method: failure.method ?? .other, path: failure.path, route: nil,
            requestID: server.requestIDs.accept(failure.requestIDHeader),
            trace: .fresh(sampler: .off, random: &server.requestIDs), started: .now)
        server.observer?(exchange.finished(status: failure.status))
        bufferevent_disable(bufferEvent, Int16(EV_READ))
        var headers = Router.jsonContentType
        if failure.status == 405 { headers.append(("Allow", server.allowedMethods(for: failure.path))) }
        write(
            status: failure.status, headers: headers, body: failure.body, requestID: exchange.requestID,
            close: true,
            isHEAD: failure.method == .HEAD, isHTTP10: false)
        closeWhenFlushed()
    }

    private func write(
        status: Int, headers: [(String, String)], body: [UInt8], requestID: String, close: Bool, isHEAD: Bool,
        isHTTP10: Bool
    ) {
        let bytes = HTTPResponseHead.serialize(
            status: status, headers: headers, bodyCount: body.count, requestID: requestID, date: server.date,
            connection: close ? "close" : isHTTP10 ? "keep-alive" : nil)
        let output = bufferevent_get_output(bufferEvent)
        let sendsBody = !isHEAD && HTTPResponseHead.allowsBody(status) && !body.isEmpty
        var written = 0
        if evbuffer_get_length(output) == 0 {
            written = writeDirectly(bytes, sendsBody ? body : [])
        }
        if written < bytes.count {
            _ = bytes.withUnsafeBytes { evbuffer_add(output, $0.baseAddress! + written, $0.count - written) }
            written = bytes.count
        }
        if sendsBody, written < bytes.count + body.count {
            let offset = written - bytes.count
            _ = body.withUnsafeBytes { evbuffer_add(output, $0.baseAddress! + offset, $0.count - offset) }
        }
    }

    /// Writes the reply to the socket at once when nothing is queued before it, and says how many
    /// bytes went out; the bufferevent sends the rest when the socket is writable. A reply that
    /// fits the socket buffer (nearly all) then costs one `sendmsg`, where queueing it costs two
    /// `epoll_ctl` calls to watch for writability and another loop pass (docs/performance.md,
    /// issue 13, lever 6). A failed send writes nothing here: the bufferevent meets the same error
    /// on its own write and reports it as usual.
    private func writeDirectly(_ head: [UInt8], _ body: [UInt8]) -> Int {
        let fd = bufferevent_getfd(bufferEvent)
        guard fd >= 0 else { return 0 }
        return head.withUnsafeBytes { head in
            body.withUnsafeBytes { body in
                var parts = [
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: head.baseAddress), iov_len: head.count),
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: body.baseAddress), iov_len: body.count),
                ]
                return parts.withUnsafeMutableBufferPointer { parts in
                    var message = msghdr()
                    message.msg_iov = parts.baseAddress
                    message.msg_iovlen = body.isEmpty ? 1 : 2
                    // MSG_NOSIGNAL: a peer that has gone must not raise SIGPIPE in a library.
                    let sent = Glibc.sendmsg(fd, &message, Int32(Glibc.MSG_NOSIGNAL))
                    return max(0, sent)
                }
            }
        }
    }

    /// The output buffer has been written out.
    private func flushed() {
        if closing, current == nil {
            finish()
        } else if server.isDraining {
            closeIfIdle()
        }
    }

    private func closeWhenFlushed() {
        if evbuffer_get_length(bufferevent_get_output(bufferEvent)) == 0 { finish() }
    }

    /// After the last reply is out: close, or half-close and linger (see the type's comment).
    private func finish() {
        guard !isClosed, !lingering else { return }
        // After a complete request with nothing unread, closing cannot reset the reply away.
        if peerClosed || (!failed && parser.bufferedCount == 0) {
            close()
            return
        }
        lingering = true
        Glibc.shutdown(bufferevent_getfd(bufferEvent), Int32(Glibc.SHUT_WR))
        bufferevent_enable(bufferEvent, Int16(EV_READ))
        arm(.linger)
    }

    // MARK: Events

    private func happened(_ events: Int32) {
        if events & Int32(BEV_EVENT_EOF) != 0, events & Int32(BEV_EVENT_ERROR) == 0 {
            peerClosed = true
            if lingering {
                close()
            } else if current == nil {
                process()
            }
            return
        }
        // A reset, a failed write, or the write timeout: nobody is listening any more.
        close()
    }

    private func deadlinePassed() {
        switch deadline {
        case .firstByte:
            if !hasSpoken { server.counters.firstByteTimeouts.add(1, ordering: .relaxed) }
        case .request:
            // No reply: a client that has not finished its request is not listening for one.
            if current == nil, !closing { server.counters.requestTimeouts.add(1, ordering: .relaxed) }
        case .idle, .linger:
            break
        }
        close()
    }

    private func arm(_ next: Deadline) {
        guard let timer else { return }
        deadline = next
        let configuration = server.configuration
        var interval =
            switch next {
            case .firstByte: min(configuration.firstByteTimeout, configuration.idleTimeout).timeval
            case .request: configuration.requestTimeout.timeval
            case .idle: configuration.idleTimeout.timeval
            case .linger: min(Self.lingerTimeout, configuration.requestTimeout).timeval
            }
        event_add(timer, &interval)
    }

    private func disarm() {
        if let timer { event_del(timer) }
        deadline = .idle
    }
}
