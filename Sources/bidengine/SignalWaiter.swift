#if canImport(Glibc)
    import Glibc
#endif

/// Blocks the given signals in this thread — and so in every thread started after it — and
/// waits for one with `sigwait`, so that shutdown runs as ordinary code on the main thread
/// instead of inside a signal handler.
struct SignalWaiter {
    private var set = sigset_t()

    init(signals: [Int32]) {
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    /// The signal received.
    func wait() -> Int32 {
        var set = self.set
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        return received
    }
}
