internal import Glibc

extension EventLoop {
    /// What the starting thread reports back to the caller of `start`.
    private enum Startup: Sendable {
        case pending
        case running
        case failed(any Error)
    }

    /// Starts the loop's thread and returns once `setup` has run on it.
    ///
    /// `setup` runs on the loop thread before the loop serves anything, so it may create
    /// loop-owned objects; if it throws, the loop is closed, `onExit` runs and the error is
    /// rethrown here. `onExit` runs on the loop thread after the base is freed.
    func start(
        setup: @escaping @Sendable () throws -> Void,
        onExit: @escaping @Sendable () -> Void
    ) throws {
        let startup = ConditionLock(Startup.pending)
        let loopThread = try LoopThread(name: name) { [self] in
            threadToken.store(pthread_self(), ordering: .releasing)
            do {
                try setup()
            } catch {
                close()
                threadToken.store(0, ordering: .releasing)
                startup.withLock { $0 = .failed(error) }
                onExit()
                return
            }
            startup.withLock { $0 = .running }
            run()
            close()
            // pthread_t values are reused: a later thread must not pass for this loop.
            threadToken.store(0, ordering: .releasing)
            onExit()
        }
        thread.withLock { $0 = loopThread }
        try startup.wait(until: { if case .pending = $0 { false } else { true } }) { state in
            if case .failed(let error) = state { throw error }
        }
    }

    /// Waits for the loop thread to end. Never call on the loop itself.
    func join() {
        precondition(!inEventLoop, "an event loop cannot join its own thread")
        let loopThread = thread.withLock { $0 }
        loopThread?.join()
    }

    // MARK: Standalone loops

    /// Starts a loop on its own thread, outside any `HTTPServer`.
    ///
    /// For components that need a loop but no server, and for their tests (for example a
    /// database connection driven by `watchSocket`). Stop it with `stopStandalone()`.
    public static func startStandalone(name: String = "event-loop") throws -> EventLoop {
        let loop = try EventLoop(name: name)
        try loop.start(setup: {}, onExit: {})
        return loop
    }

    /// Stops a loop made by `startStandalone` and joins its thread; pending timers are dropped and
    /// watchers lose their events. Call from another thread, never from the loop itself.
    public func stopStandalone() {
        stop()
        join()
    }
}
