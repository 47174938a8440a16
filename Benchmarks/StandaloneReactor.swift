import HTTPServer
import Postgres

/// Runs a `PostgresConnection` on a standalone `EventLoop`: its socket and timers registered
/// with the loop, as the server's loops do.
///
/// The same few lines as `BidService`'s internal `LoopReactor`, which is not public.
final class StandaloneReactor: PostgresReactor {
    private let loop: EventLoop

    init(loop: EventLoop) {
        self.loop = loop
    }

    func watch(fd: Int32, onReady: @escaping (Bool, Bool) -> Void) -> any PostgresSocketWatch {
        Watch(watcher: loop.watchSocket(fd, readable: false, writable: false, onReady: onReady))
    }

    func after(_ delay: Duration, _ body: @escaping () -> Void) -> any PostgresTimer {
        Timer(timer: loop.schedule(after: delay, body))
    }

    private final class Watch: PostgresSocketWatch {
        let watcher: SocketWatcher
        init(watcher: SocketWatcher) { self.watcher = watcher }
        func setInterest(readable: Bool, writable: Bool) { watcher.setInterest(readable: readable, writable: writable) }
        func cancel() { watcher.cancel() }
    }

    private final class Timer: PostgresTimer {
        let timer: LoopTimer
        init(timer: LoopTimer) { self.timer = timer }
        func cancel() { timer.cancel() }
    }
}
