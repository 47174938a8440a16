internal import CLibevent

/// A pending one-shot timer on one event loop.
///
/// Loop-thread only. The loop keeps a pending timer alive, so the handle can be dropped when the
/// caller never needs to cancel.
public final class LoopTimer {
    private let loop: EventLoop
    private var event: OpaquePointer?
    private var body: (() -> Void)?

    init(loop: EventLoop, body: @escaping () -> Void) {
        self.loop = loop
        self.body = body
    }

    /// Stops the timer if it has not fired; calling it again, or after it fired, does nothing.
    public func cancel() {
        guard let event else { return }
        event_free(event)
        self.event = nil
        body = nil
        loop.timerFinished(self)
    }

    func arm(base: OpaquePointer, delay: Duration) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        // The loop's timer table retains `self` until the event fires or is freed.
        event = event_new(
            base, -1, 0,
            { _, _, argument in
                Unmanaged<LoopTimer>.fromOpaque(argument!).takeUnretainedValue().fire()
            }, me)
        guard let event else {
            body = nil
            return
        }
        var interval = delay.timeval
        event_add(event, &interval)
    }

    private func fire() {
        guard let event else { return }
        event_free(event)
        self.event = nil
        let work = body
        body = nil
        loop.timerFinished(self)
        work?()
    }

    /// The loop is closing: free the event without running the body.
    func invalidate() {
        if let event { event_free(event) }
        event = nil
        body = nil
    }
}
