import Foundation
import Postgres
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Takes SIGTERM/SIGINT as ordinary code: a minimal handler writes the signal number into a pipe
/// (the only async-signal-safe thing it does) and a thread of ours reads it.
///
/// Until `started()` the process is starting up (waiting for the database, migrating): a signal
/// then runs `duringStartup`, leaves the embedded cluster (`EmbeddedPostgres.leaveAll()`: the last
/// user stops it) and ends the process at once, whatever the starting thread is blocked in — with
/// status 0 (`serve`, `schedule`, `poll`), or by the signal itself (`.bySignal`: the one-shot CLI
/// commands, which never call `started()`, so their callers see an interrupted command as before).
/// After `started()`, `wait()` returns the signal and the caller drains as it sees fit.
///
/// A self-pipe works whichever thread the kernel picks to deliver the signal; blocking the
/// signals and calling `sigwait` would need every thread, including the runtime's, to block them.
final class SignalWaiter: Sendable {
    private let running = Atomic(false)
    private let received = Mutex<[Int32]>([])
    private let arrived = DispatchSemaphore(value: 0)

    /// How the process ends on a signal before `started()`.
    enum StartupExit: Sendable {
        /// `_exit(0)`: a stop requested before the service ran is not a failure.
        case success
        /// The default action of the signal, after leaving the cluster (status 128 + signal in a shell).
        case bySignal
    }

    init(
        signals: [Int32], startupExit: StartupExit = .success,
        duringStartup: @escaping @Sendable (Int32) -> Void = { _ in }
    ) {
        _ = signalPipe  // create the pipe before any handler can run
        atexit(waitForTheSignalExit)
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
        Thread.detachNewThread { [self] in
            while true {
                var byte: UInt8 = 0
                guard read(signalPipe.read, &byte, 1) == 1 else { continue }
                if !running.load(ordering: .acquiring) {
                    let number = Int32(byte)
                    // From here this thread decides how the process ends: leaving the cluster
                    // breaks the starting thread's sessions, and its error path must not exit first.
                    exitingOnSignal.store(true, ordering: .sequentiallyConsistent)
                    duringStartup(number)
                    EmbeddedPostgres.leaveAll()
                    if startupExit == .bySignal {
                        signal(number, SIG_DFL)
                        kill(getpid(), number)
                    }
                    _exit(startupExit == .bySignal ? 128 + number : 0)
                }
                received.withLock { $0.append(Int32(byte)) }
                arrived.signal()
            }
        }
    }

    /// True once a signal during start-up is ending the process.
    var isExiting: Bool { exitingOnSignal.load(ordering: .sequentiallyConsistent) }

    /// Start-up is over: from now on signals are returned by `wait()`.
    func started() {
        running.store(true, ordering: .releasing)
    }

    /// Blocks until one of the signals arrives (after `started()`); returns its number.
    func wait() -> Int32 {
        arrived.wait()
        return received.withLock { $0.removeFirst() }
    }
}

/// Written once, before handlers are installed, and never changed.
private let signalPipe: (read: Int32, write: Int32) = {
    var descriptors: [Int32] = [0, 0]
    pipe(&descriptors)
    return (descriptors[0], descriptors[1])
}()

/// Set by the reading thread when a start-up signal ends the process.
private let exitingOnSignal = Atomic(false)

/// An `exit()` from another thread while a start-up signal is being handled (the starting thread
/// failing because its database went away) waits for the signal's `_exit` instead of racing it
/// with its own status. File scope, so that the C callback inherits no actor isolation.
private func waitForTheSignalExit() {
    while exitingOnSignal.load(ordering: .sequentiallyConsistent) { pause() }
}
