internal import CLibevent
internal import Glibc
internal import Synchronization

/// One libevent `event_base` driven by one dedicated thread.
///
/// Everything created through a loop (socket watchers, timers, the HTTP objects of the server)
/// belongs to that loop's thread; the only door in from other threads is `execute`, which queues
/// work behind a lock and wakes the loop with `event_active` on an event made for the purpose.
public final class EventLoop: @unchecked Sendable {
    typealias Work = @Sendable () -> Void

    /// Work handed over by other threads, and whether the loop can still accept it.
    struct Inbox {
        var items: [Work] = []
        var isClosed = false
    }

    /// Shown as the thread name, and in errors.
    public let name: String

    let base: OpaquePointer
    private var wakeEvent: OpaquePointer?
    private let inbox = Mutex(Inbox())
    /// `pthread_self()` of the loop thread once it runs; 0 before. Written once, by that thread.
    let threadToken = Atomic<UInt>(0)
    /// The thread, once started, so that it can be joined.
    let thread = Mutex<LoopThread?>(nil)

    // MARK: Loop-thread-only state

    /// Keeps the swapped-out inbox array so that draining reuses its storage instead of allocating.
    private var spareBatch: [Work] = []
    /// Pending timers: the loop owns them until they fire or are cancelled, so callers may drop
    /// the returned handle.
    private var timers: [ObjectIdentifier: LoopTimer] = [:]
    /// Live watchers, unretained (their owners keep them), so that closing the loop can free their
    /// events before the base goes away.
    private var watchers: [ObjectIdentifier: Unmanaged<SocketWatcher>] = [:]
    /// Set once the base is about to be freed; later timers and watchers are inert.
    private(set) var isClosed = false

    init(name: String) throws(HTTPServerError) {
        LibeventRuntime.prepare()
        guard let base = event_base_new() else {
            throw HTTPServerError.eventLoopCreationFailed("event_base_new failed for \(name)")
        }
        self.name = name
        self.base = base
        let me = Unmanaged.passUnretained(self).toOpaque()
        // Never added, only activated: `event_active` works on such an event from any thread.
        wakeEvent = event_new(
            base, -1, 0,
            { _, _, argument in
                Unmanaged<EventLoop>.fromOpaque(argument!).takeUnretainedValue().drainInbox()
            }, me)
        guard wakeEvent != nil else {
            // deinit frees the base: `self` is fully initialised by now.
            throw HTTPServerError.eventLoopCreationFailed("event_new failed for \(name)")
        }
    }

    deinit {
        // A loop whose thread never ran still owns its base.
        if !isClosed { releaseResources() }
    }

    /// True when called on this loop's thread.
    public var inEventLoop: Bool {
        pthread_self() == threadToken.load(ordering: .relaxed)
    }

    /// Runs `body` on the loop thread soon; callable from any thread.
    ///
    /// Work queued after the loop has stopped is dropped (released on the caller's thread).
    public func execute(_ body: @escaping @Sendable () -> Void) {
        inbox.withLock { inbox in
            guard !inbox.isClosed else { return }
            inbox.items.append(body)
            // Only the first item needs a wake-up; the drain takes everything queued by then.
            if inbox.items.count == 1 { event_active(wakeEvent, 0, 0) }
        }
    }

    /// Watches a socket the caller owns (and keeps open until it cancels the watcher).
    ///
    /// `onReady` runs on the loop thread with what is ready. The interest given here holds until
    /// `setInterest` changes it. Call on the loop thread.
    public func watchSocket(
        _ fd: Int32, readable: Bool = true, writable: Bool = false,
        onReady: @escaping (_ readable: Bool, _ writable: Bool) -> Void
    ) -> SocketWatcher {
        precondition(inEventLoop, "watchSocket must be called on the loop thread")
        let watcher = SocketWatcher(loop: self, fd: fd, onReady: onReady)
        if !isClosed {
            watcher.register(base: base)
            watchers[ObjectIdentifier(watcher)] = Unmanaged.passUnretained(watcher)
            watcher.setInterest(readable: readable, writable: writable)
        }
        return watcher
    }

    /// One-shot timer on the loop thread. Call on the loop thread; the handle may be dropped.
    @discardableResult
    public func schedule(after delay: Duration, _ body: @escaping () -> Void) -> LoopTimer {
        precondition(inEventLoop, "schedule must be called on the loop thread")
        let timer = LoopTimer(loop: self, body: body)
        if !isClosed {
            timer.arm(base: base, delay: delay)
            timers[ObjectIdentifier(timer)] = timer
        }
        return timer
    }

    // MARK: Internals

    func timerFinished(_ timer: LoopTimer) {
        timers.removeValue(forKey: ObjectIdentifier(timer))
    }

    func watcherFinished(_ watcher: SocketWatcher) {
        watchers.removeValue(forKey: ObjectIdentifier(watcher))
    }

    private func drainInbox() {
        var batch = spareBatch
        spareBatch = []
        inbox.withLock { inbox in swap(&inbox.items, &batch) }
        for work in batch { work() }
        batch.removeAll(keepingCapacity: true)
        spareBatch = batch
    }

    /// Runs the loop on the calling thread until `stop()`. Keeps running with no events pending,
    /// because work can still arrive through `execute`.
    func run() {
        _ = event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY)
    }

    /// Makes `run()` return once the callbacks queued before it have run; callable from any thread.
    func stop() {
        execute { [self] in _ = event_base_loopbreak(self.base) }
    }

    /// Frees everything the loop owns, base last. On the loop thread, after `run()` returned.
    func close() {
        guard !isClosed else { return }
        releaseResources()
    }

    private func releaseResources() {
        // Dropped work may own responders or timers; release it while the base is still alive.
        let dropped = inbox.withLock { inbox -> [Work] in
            inbox.isClosed = true
            defer { inbox.items = [] }
            return inbox.items
        }
        _ = consume dropped
        isClosed = true
        for timer in timers.values { timer.invalidate() }
        timers = [:]
        for watcher in watchers.values { watcher.takeUnretainedValue().invalidate() }
        watchers = [:]
        if let wakeEvent { event_free(wakeEvent) }
        wakeEvent = nil
        event_base_free(base)
    }
}
