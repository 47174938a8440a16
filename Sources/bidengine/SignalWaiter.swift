#if canImport(Glibc)
    import Glibc
#endif

/// Waits for SIGTERM/SIGINT as ordinary code: a minimal handler writes the signal number into a
/// pipe (the only async-signal-safe thing it does) and `wait()` reads it.
///
/// A self-pipe works whichever thread the kernel picks to deliver the signal; blocking the
/// signals and calling `sigwait` would need every thread, including the runtime's, to block them.
struct SignalWaiter {
    init(signals: [Int32]) {
        _ = signalPipe  // create the pipe before any handler can run
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipe.write, &byte, 1)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        // A parent may start us with these signals blocked (a spawning thread's mask is
        // inherited); blocked, they would never reach the handler and SIGTERM would be ignored.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Blocks until one of the signals arrives; returns its number.
    func wait() -> Int32 {
        var byte: UInt8 = 0
        while read(signalPipe.read, &byte, 1) != 1 {}
        return Int32(byte)
    }
}

/// Written once, before handlers are installed, and never changed.
private let signalPipe: (read: Int32, write: Int32) = {
    var descriptors: [Int32] = [0, 0]
    pipe(&descriptors)
    return (descriptors[0], descriptors[1])
}()
