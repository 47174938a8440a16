public import HTTPServer
public import Postgres

/// Lets a PostgreSQL connection run on an HTTP event loop: its socket and timers are registered
/// with the loop that serves the requests using it, so neither ever waits for the other.
public final class LoopReactor: PostgresReactor {
    private let loop: EventLoop

    public init(loop: EventLoop) {
        self.loop = loop
    }

    public func watch(fd: Int32, onReady: @escaping (Bool, Bool) -> Void) -> any PostgresSocketWatch {
        Watch(watcher: loop.watchSocket(fd, readable: false, writable: false, onReady: onReady))
    }

    public func after(_ delay: Duration, _ body: @escaping () -> Void) -> any PostgresTimer {
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
