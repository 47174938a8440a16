internal import Synchronization

/// Holds the closure that receives libevent's log messages.
///
/// libevent's log callback is process-wide, so exactly one holder exists; the closure sits behind
/// a lock rather than in a mutable static, so that swapping it while loops run is safe. Until the
/// application installs a handler, messages are written to fd 2 (not `stderr`, which is a mutable
/// global that strict concurrency rejects).
final class LibeventLog: Sendable {
    typealias Handler = @Sendable (LibeventLogSeverity, String) -> Void

    static let shared = LibeventLog()

    private let handler = Mutex<Handler?>(nil)

    func setHandler(_ newHandler: Handler?) {
        handler.withLock { $0 = newHandler }
    }

    func emit(severity: Int32, message: UnsafePointer<CChar>?) {
        let text = message.map { String(cString: $0) } ?? ""
        let level = LibeventLogSeverity(libeventSeverity: severity)
        if let current = handler.withLock({ $0 }) {
            current(level, text)
        } else {
            StandardError.write("libevent [\(level)]: \(text)\n")
        }
    }
}
