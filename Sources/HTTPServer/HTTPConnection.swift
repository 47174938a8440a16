internal import CLibevent

/// Per-connection bookkeeping that evhttp 2.1 has no hooks for: the open-connection count, the
/// split between first-byte, idle and request timeouts, and closing idle keep-alive connections
/// on drain.
///
/// Loop-thread only. The bufferevent is created by us (evhttp's `bevcb`), so its read timeout is
/// set once to `idleTimeout` and its write timeout to `requestTimeout`. Whether the connection is
/// idle is learned from its buffers: the first byte into the input buffer starts a request (and
/// its deadline), the output buffer draining to empty ends it. The deadline is a timer rather
/// than a read timeout so that a client trickling one byte at a time cannot keep a request open:
/// it is absolute, counted from the request's first byte, and no later byte moves it. The same
/// timer, armed at accept with `firstByteTimeout`, closes a connection that never sends anything.
final class HTTPConnection {
    unowned let server: HTTPLoopServer
    let bufferEvent: OpaquePointer
    /// The evhttp connection around `bufferEvent`, known one callback after it was created.
    var connection: OpaquePointer?
    private var deadline: OpaquePointer?
    private var inputWatch: OpaquePointer?
    private var outputWatch: OpaquePointer?
    private(set) var isIdle = true
    /// A byte has arrived at some point: the first-byte deadline no longer applies.
    private var hasSpoken = false
    private var isClosed = false

    init(server: HTTPLoopServer, bufferEvent: OpaquePointer) {
        self.server = server
        self.bufferEvent = bufferEvent
    }

    /// Sets the timeouts and watches the buffers; the server keeps `self` alive until `closed()`.
    func install(base: OpaquePointer, configuration: HTTPServerConfiguration) {
        var readTimeout = configuration.idleTimeout.timeval
        var writeTimeout = configuration.requestTimeout.timeval
        bufferevent_set_timeouts(bufferEvent, &readTimeout, &writeTimeout)
        let me = Unmanaged.passUnretained(self).toOpaque()
        deadline = event_new(
            base, -1, 0,
            { _, _, argument in
                Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().deadlinePassed()
            }, me)
        inputWatch = evbuffer_add_cb(
            bufferevent_get_input(bufferEvent),
            { _, info, argument in
                guard let info, info.pointee.n_added > 0 else { return }
                Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().requestStarted()
            }, me)
        outputWatch = evbuffer_add_cb(
            bufferevent_get_output(bufferEvent),
            { buffer, info, argument in
                guard let info, info.pointee.n_deleted > 0, evbuffer_get_length(buffer) == 0 else { return }
                Unmanaged<HTTPConnection>.fromOpaque(argument!).takeUnretainedValue().replyFlushed()
            }, me)
        if let deadline {
            var interval = configuration.firstByteTimeout.timeval
            event_add(deadline, &interval)
        }
    }

    /// Called by evhttp's close callback, while the bufferevent still exists.
    func closed() {
        guard !isClosed else { return }
        isClosed = true
        if let inputWatch { evbuffer_remove_cb_entry(bufferevent_get_input(bufferEvent), inputWatch) }
        if let outputWatch { evbuffer_remove_cb_entry(bufferevent_get_output(bufferEvent), outputWatch) }
        if let deadline { event_free(deadline) }
        inputWatch = nil
        outputWatch = nil
        deadline = nil
    }

    /// Closes an idle connection soon, outside any libevent callback that may still use it.
    func closeWhenIdle() {
        guard isIdle, let deadline else { return }
        event_active(deadline, EV_TIMEOUT, 0)
    }

    // MARK: Buffer events

    private func requestStarted() {
        guard isIdle else { return }
        isIdle = false
        hasSpoken = true
        // Only the idle-to-busy edge matters; muting the callback keeps parsing cheap.
        if let inputWatch {
            evbuffer_cb_clear_flags(bufferevent_get_input(bufferEvent), inputWatch, UInt32(EVBUFFER_CB_ENABLED))
        }
        armDeadline()
    }

    private func replyFlushed() {
        guard !isIdle else { return }
        if evbuffer_get_length(bufferevent_get_input(bufferEvent)) > 0 {
            // A pipelined request is already waiting: its own deadline starts now.
            armDeadline()
            return
        }
        isIdle = true
        if let deadline { event_del(deadline) }
        if let inputWatch {
            evbuffer_cb_set_flags(bufferevent_get_input(bufferEvent), inputWatch, UInt32(EVBUFFER_CB_ENABLED))
        }
        if server.isDraining { closeWhenIdle() }
    }

    /// (Re)starts the deadline: `event_add` on a pending timer replaces its timeout, so this also
    /// ends the first-byte deadline.
    private func armDeadline() {
        guard let deadline else { return }
        var interval = server.configuration.requestTimeout.timeval
        event_add(deadline, &interval)
    }

    private func deadlinePassed() {
        if isIdle {
            if server.isDraining, let connection {
                evhttp_connection_free(connection)
            } else if !hasSpoken {
                server.counters.firstByteTimeouts.add(1, ordering: .relaxed)
                reportReadTimeout()
            }
            return
        }
        // Cut off only a request still being received: while its handler runs evhttp does not
        // read, and while a reply is being written the write timeout applies instead.
        let reading = Int32(bufferevent_get_enabled(bufferEvent)) & EV_READ != 0
        let writing = evbuffer_get_length(bufferevent_get_output(bufferEvent)) > 0
        guard reading, !writing else { return }
        server.counters.requestTimeouts.add(1, ordering: .relaxed)
        reportReadTimeout()
    }

    /// Exactly what a bufferevent read timeout reports, so evhttp closes the connection by its own
    /// rules (and detaches a request a handler still holds instead of freeing it). No reply is
    /// sent: a client that has not finished its request is not listening for one.
    private func reportReadTimeout() {
        bufferevent_trigger_event(bufferEvent, Int16(BEV_EVENT_READING | BEV_EVENT_TIMEOUT), 0)
    }
}
