internal import CLibevent
internal import Glibc

/// A joinable POSIX thread that runs one closure.
///
/// Loops need a dedicated thread each, and graceful shutdown must be able to join them;
/// Foundation's `Thread` cannot be joined, and pulling Foundation in for this is not worth it.
final class LoopThread: @unchecked Sendable {
    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    private let handle: pthread_t
    private var joined = false

    /// Starts the thread; `name` is cut to 15 bytes, the kernel's limit, and shows in `top -H`.
    init(name: String, body: @escaping @Sendable () -> Void) throws(HTTPServerError) {
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { argument in
                let start = Unmanaged<Start>.fromOpaque(argument!).takeRetainedValue()
                _ = CLibevent_set_thread_name(String(decoding: start.name.utf8.prefix(15), as: UTF8.self))
                start.body()
                return nil
            }, start)
        guard result == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw HTTPServerError.threadStartFailed(errno: result)
        }
        handle = thread
    }

    /// Waits for the thread to finish; further calls do nothing. Never call on this thread.
    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(handle, nil)
    }
}
