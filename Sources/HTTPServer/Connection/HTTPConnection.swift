internal import CLibevent
internal import Glibc

/// One accepted connection: a bufferevent feeding `HTTPRequestParser`, requests handed to the
/// router one at a time (pipelined ones wait in the parser, so replies go out in order), and the
/// timeouts that keep slow clients from pinning it.
///
/// The decisions (when to read, which deadline runs, when to close) are
/// `HTTPConnectionStateMachine`'s; this type reports events to it and performs its actions on
/// libevent. Loop-thread only. One timer serves four deadlines: `firstByteTimeout` from accept
/// until the first byte; `requestTimeout` from a request's first byte until it has been read
/// whole (absolute, so a client trickling one byte at a time cannot stretch it; not running while
/// a handler works); `idleTimeout` between requests; a short linger after the last reply. Reading
/// goes on while a handler works, so that a request costs no `epoll_ctl` to stop and restart it;
/// the bytes wait in the parser, and once 64 KiB of them wait (`Limits.pipelinedInput`), reading
/// pauses until the reply, so a client cannot queue unbounded pipelined input.
///
/// Output is bounded the same way. A reply goes straight to the socket when nothing is queued
/// before it; what the socket does not take waits in the bufferevent. Once more than
/// `maxQueuedOutput` waits, the connection stops reading and stops taking pipelined requests until
/// the client has read it down to a quarter of that, so a client that sends and never reads
/// holds at most 64 KiB of input and `maxQueuedOutput` plus one reply of output.
/// A second timer, the write deadline, starts when output first has to wait and stops only when
/// the queue is empty: a client must take its replies within `requestTimeout`, and neither
/// reading a trickle of them nor sending more requests moves that deadline.
///
/// After an error reply, or a last reply with input still unread, the connection half-closes and
/// reads and discards whatever the client still sends until it closes its side or the linger
/// ends, rather than closing with unread input: that would reset the connection and could destroy
/// the reply before the client reads it (a 413 while the body is still coming).
final class HTTPConnection {
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
    private var machine: HTTPConnectionStateMachine
    private var timer: OpaquePointer?
    /// The write deadline; made when output first has to wait.
    private var writeTimer: OpaquePointer?
    private var current: Current?

    init(server: HTTPLoopServer, bufferEvent: OpaquePointer, peerAddress: String) {
        self.server = server
        self.bufferEvent = bufferEvent
        self.peerAddress = peerAddress
        parser = HTTPRequestParser(limits: server.limits) { [unowned server] in server.bodyLimit(for: $0) }
        machine = HTTPConnectionStateMachine(
            limits: .init(maxQueuedOutput: server.configuration.maxQueuedOutput))
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
        // The write callback (`flushed`) runs whenever a write leaves this much or less queued.
        bufferevent_setwatermark(bufferEvent, Int16(EV_WRITE), machine.limits.resumeOutputBelow, 0)
        timer = event_new(
            server.loop.base, -1, 0,
            { _, _, argument in
                Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().deadlinePassed()
            }, me)
        bufferevent_enable(bufferEvent, Int16(EV_READ | EV_WRITE))
        perform(machine.started())
    }

    /// Closes the connection now if it is between requests (draining); otherwise its next reply
    /// says `Connection: close`.
    func closeIfIdle() {
        perform(machine.drainRequested(buffers))
    }

    /// Frees everything at once. A request still with its handler counts as finished; its reply,
    /// if it ever comes, is dropped.
    func close() {
        guard !machine.isClosed else { return }
        machine.closed()
        free()
    }

    private func free() {
        if current != nil {
            current = nil
            server.requestFinished()
        }
        if let timer { event_free(timer) }
        timer = nil
        if let writeTimer { event_free(writeTimer) }
        writeTimer = nil
        bufferevent_free(bufferEvent)
        server.connectionClosed(self)
    }

    /// What the connection holds now, for the state machine's decisions.
    private var buffers: HTTPConnectionStateMachine.Buffers {
        .init(
            queuedOutput: evbuffer_get_length(bufferevent_get_output(bufferEvent)),
            unreadInput: parser.bufferedCount, parserIdle: parser.isIdle)
    }

    /// Does what the state machine decided, in the order `Actions` lists.
    private func perform(_ actions: HTTPConnectionStateMachine.Actions) {
        switch actions.writeDeadline {
        case .arm?: armWriteDeadline()
        case .disarm?: if let writeTimer { event_del(writeTimer) }
        case nil: break
        }
        switch actions.reading {
        case .pause?: bufferevent_disable(bufferEvent, Int16(EV_READ))
        case .resume?: bufferevent_enable(bufferEvent, Int16(EV_READ))
        case nil: break
        }
        if actions.halfCloseAndLinger {
            Glibc.shutdown(bufferevent_getfd(bufferEvent), Int32(Glibc.SHUT_WR))
            bufferevent_enable(bufferEvent, Int16(EV_READ))
        }
        switch actions.timer {
        case .arm(let deadline)?: arm(deadline)
        case .disarm?: if let timer { event_del(timer) }
        case nil: break
        }
        if let reason = actions.close {
            count(reason)
            free()
        } else if actions.process {
            process()
        }
    }

    private func count(_ reason: HTTPConnectionStateMachine.CloseReason) {
        switch reason {
        case .firstByteTimeout: server.counters.firstByteTimeouts.add(1, ordering: .relaxed)
        case .requestTimeout: server.counters.requestTimeouts.add(1, ordering: .relaxed)
        case .writeTimeout: server.counters.writeTimeouts.add(1, ordering: .relaxed)
        case .finished, .peerGone, .draining, .deadline: break
        }
    }

    // MARK: Reading

    private func readable() {
        let input = bufferevent_get_input(bufferEvent)
        let count = evbuffer_get_length(input)
        guard count > 0 else { return }
        let (parse, actions) = machine.bytesReceived()
        if parse, let bytes = evbuffer_pullup(input, -1) {
            parser.append(UnsafeRawBufferPointer(start: bytes, count: count))
        }
        evbuffer_drain(input, count)
        perform(actions)
        guard parse else { return }
        process()
        perform(machine.inputConsumed(buffers))
    }

    /// Takes events from the parser until a request is with a handler, more bytes are needed, or
    /// the connection is done.
    private func process() {
        guard machine.processingStarted() else { return }
        defer { machine.processingEnded() }
        while machine.takesRequests {
            guard let event = parser.next() else {
                perform(machine.inputExhausted(buffers))
                return
            }
            switch event {
            case .continueExpected:
                _ = Self.continueLine.withUnsafeBytes { bufferevent_write(bufferEvent, $0.baseAddress, $0.count) }
                outputQueued()
            case .request(let message):
                current = Current(
                    isHEAD: message.method == .HEAD, keepAlive: message.keepAlive, isHTTP10: message.isHTTP10)
                perform(machine.requestParsed())
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
        guard !machine.isClosed, let request = current else { return }
        current = nil
        var close = !request.keepAlive || server.isDraining
        for (name, value) in headers where HTTPHeaders.equalIgnoringASCIICase(name, "Connection") {
            if HTTPHeaders.equalIgnoringASCIICase(value, "close") { close = true }
        }
        server.observer?(exchange.finished(status: status, logFields: logFields))
        // Finished before the write: the reply may reach the client within `write`.
        server.requestFinished()
        write(
            status: status, headers: headers, body: body, requestID: exchange.requestID, close: close,
            isHEAD: request.isHEAD, isHTTP10: request.isHTTP10)
        guard !machine.isClosed else { return }
        perform(machine.replySent(close: close, buffers))
        guard !machine.isClosed else { return }
        perform(machine.inputConsumed(buffers))
    }

    /// The error reply for a request that could not be framed; the connection closes after it.
    private func answer(_ failure: HTTPRequestFailure) {
        perform(machine.requestFailed())
        let exchange = HTTPExchangeStart(
            method: failure.method ?? .other, path: failure.path, route: nil,
            requestID: server.requestIDs.accept(failure.requestIDHeader),
            trace: .fresh(sampler: .off, random: &server.requestIDs), started: .now)
        server.observer?(exchange.finished(status: failure.status))
        var headers = Router.jsonContentType
        if failure.status == 405 { headers.append(("Allow", server.allowedMethods(for: failure.path))) }
        write(
            status: failure.status, headers: headers, body: failure.body, requestID: exchange.requestID,
            close: true,
            isHEAD: failure.method == .HEAD, isHTTP10: false)
        guard !machine.isClosed else { return }
        perform(machine.failureReplyWritten(buffers))
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
        if evbuffer_get_length(output) > 0 { outputQueued() }
    }

    /// Output waits in the bufferevent: the state machine starts the write deadline, and pauses
    /// the connection once more than `maxQueuedOutput` waits.
    private func outputQueued() {
        let buffers = buffers
        server.counters.largestQueuedOutput.max(buffers.queuedOutput, ordering: .relaxed)
        let wasPaused = machine.outputPaused
        perform(machine.outputQueued(buffers))
        if !wasPaused, machine.outputPaused { server.counters.outputPauses.add(1, ordering: .relaxed) }
    }

    /// Writes the reply to the socket at once when nothing is queued before it, and says how many
    /// bytes went out; the bufferevent sends the rest when the socket is writable. A reply that
    /// fits the socket buffer (nearly all) then costs one `sendmsg`, where queueing it costs two
    /// `epoll_ctl` calls to watch for writability and another loop pass (docs/performance.md).
    /// A failed send writes nothing here: the bufferevent meets the same error
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

    /// A write left `resumeOutputBelow` or less queued.
    private func flushed() {
        perform(machine.outputDrained(buffers, draining: server.isDraining))
        guard !machine.isClosed else { return }
        perform(machine.inputConsumed(buffers))
    }

    // MARK: Events

    private func happened(_ events: Int32) {
        if events & Int32(BEV_EVENT_EOF) != 0, events & Int32(BEV_EVENT_ERROR) == 0 {
            perform(machine.peerClosedSending())
            return
        }
        perform(machine.connectionFailed())
    }

    private func deadlinePassed() {
        perform(machine.deadlinePassed())
    }

    private func writeDeadlinePassed() {
        perform(machine.writeDeadlinePassed())
    }

    private func arm(_ next: HTTPConnectionStateMachine.Deadline) {
        guard let timer else { return }
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

    private func armWriteDeadline() {
        if writeTimer == nil {
            writeTimer = event_new(
                server.loop.base, -1, 0,
                { _, _, argument in
                    Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().writeDeadlinePassed()
                }, Unmanaged.passUnretained(self).toOpaque())
        }
        guard let writeTimer else { return }
        var interval = server.configuration.requestTimeout.timeval
        event_add(writeTimer, &interval)
    }
}
