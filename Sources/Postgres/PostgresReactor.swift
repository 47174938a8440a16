/// What a non-blocking connection needs from the event loop that owns it: readiness callbacks for
/// its socket and one-shot timers, all on that loop's thread.
///
/// Declared here so that this module knows nothing of libevent; the application makes its event
/// loop conform.
public protocol PostgresReactor: AnyObject {
    func watch(fd: Int32, onReady: @escaping (_ readable: Bool, _ writable: Bool) -> Void) -> any PostgresSocketWatch
    func after(_ delay: Duration, _ body: @escaping () -> Void) -> any PostgresTimer
}

/// A registration of one socket with a reactor.
public protocol PostgresSocketWatch: AnyObject {
    func setInterest(readable: Bool, writable: Bool)
    func cancel()
}

/// A pending one-shot timer.
public protocol PostgresTimer: AnyObject {
    func cancel()
}
