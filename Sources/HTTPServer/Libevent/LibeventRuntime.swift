internal import CLibevent

/// Process-wide libevent set-up that must happen exactly once, before the first `event_base`.
///
/// libevent only locks a base (and so only lets another thread wake it with `event_active`) when
/// `evthread_use_pthreads()` ran before that base was created, and it has a single process-wide
/// log callback. A `static let` gives both a thread-safe run-once without any mutable global.
enum LibeventRuntime {
    /// Touch before creating any base.
    static func prepare() {
        _ = ready
    }

    private static let ready: Bool = {
        let threadsReady = evthread_use_pthreads() == 0
        // Installed even before the application chooses a handler, so that libevent's messages
        // always go through `LibeventLog` (which writes to fd 2 until told otherwise).
        event_set_log_callback { severity, message in
            LibeventLog.shared.emit(severity: severity, message: message)
        }
        precondition(threadsReady, "evthread_use_pthreads() failed: event loops could not be woken")
        return threadsReady
    }()
}
