internal import CLibevent

/// Readiness notifications for one socket that someone else owns (and closes).
///
/// Loop-thread only. Readability and writability are two persistent libevent events rather than
/// one, so that changing interest is a plain `event_add`/`event_del` with no re-allocation; when
/// both are ready in the same loop iteration, `onReady` is called once for each.
public final class SocketWatcher {
    private let loop: EventLoop
    /// The watched descriptor, for the owner's bookkeeping.
    public let fd: Int32
    private var readEvent: OpaquePointer?
    private var writeEvent: OpaquePointer?
    private var onReady: ((Bool, Bool) -> Void)?
    private var wantsRead = false
    private var wantsWrite = false

    init(loop: EventLoop, fd: Int32, onReady: @escaping (Bool, Bool) -> Void) {
        self.loop = loop
        self.fd = fd
        self.onReady = onReady
    }

    deinit {
        freeEvents()
        loop.watcherFinished(self)
    }

    /// Which readiness to report; holds until changed. Both false pauses the watcher.
    public func setInterest(readable: Bool, writable: Bool) {
        if readable != wantsRead, let readEvent {
            if readable { event_add(readEvent, nil) } else { event_del(readEvent) }
        }
        if writable != wantsWrite, let writeEvent {
            if writable { event_add(writeEvent, nil) } else { event_del(writeEvent) }
        }
        wantsRead = readable
        wantsWrite = writable
    }

    /// Stops watching for good; idempotent, and implied by deinit. The socket stays open.
    public func cancel() {
        guard readEvent != nil || writeEvent != nil || onReady != nil else { return }
        freeEvents()
        onReady = nil
        loop.watcherFinished(self)
    }

    func register(base: OpaquePointer) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        readEvent = event_new(
            base, fd, Int16(EV_READ | EV_PERSIST),
            { _, what, argument in
                Unmanaged<SocketWatcher>.fromOpaque(argument!).takeUnretainedValue().ready(what)
            }, me)
        writeEvent = event_new(
            base, fd, Int16(EV_WRITE | EV_PERSIST),
            { _, what, argument in
                Unmanaged<SocketWatcher>.fromOpaque(argument!).takeUnretainedValue().ready(what)
            }, me)
    }

    /// The loop is closing: its base is about to be freed, so the events must go first.
    func invalidate() {
        freeEvents()
        onReady = nil
    }

    private func ready(_ what: Int16) {
        onReady?(Int32(what) & EV_READ != 0, Int32(what) & EV_WRITE != 0)
    }

    private func freeEvents() {
        if let readEvent { event_free(readEvent) }
        if let writeEvent { event_free(writeEvent) }
        readEvent = nil
        writeEvent = nil
    }
}
