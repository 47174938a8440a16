public import Foundation

/// Asks a job to stop at its next safe point, and wakes anything waiting on it.
///
/// The scheduler cancels it on SIGTERM/SIGINT. Jobs poll `isCancelled` between units of work
/// (the audit between fetches of 10,000 bids) and abandon cleanly; code that waits in its own
/// way (an HTTP client, a rate limiter) registers `onCancel` to be woken.
public final class JobCancellation: @unchecked Sendable {
    // Every field is guarded by `condition`.
    private let condition = NSCondition()
    private var cancelled = false
    private var handlers: [@Sendable () -> Void] = []

    public init() {}

    public var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Idempotent; runs the registered handlers once, on the calling thread.
    public func cancel() {
        condition.lock()
        guard !cancelled else {
            condition.unlock()
            return
        }
        cancelled = true
        let toRun = handlers
        handlers = []
        condition.broadcast()
        condition.unlock()
        for handler in toRun { handler() }
    }

    /// Runs `handler` when cancelled, at once if that already happened.
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        condition.lock()
        guard !cancelled else {
            condition.unlock()
            handler()
            return
        }
        handlers.append(handler)
        condition.unlock()
    }

    /// Waits until the wall-clock `deadline` or cancellation; false when cancelled.
    public func wait(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !cancelled {
            if !condition.wait(until: deadline) { return !cancelled }
        }
        return false
    }
}
