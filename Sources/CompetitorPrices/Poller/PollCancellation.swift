import Foundation

/// Stops a poll between requests: `cancel()` wakes every `sleep` at once, so a scheduler shutting
/// down is not held by a backoff or a rate-limit wait.
public final class PollCancellation: @unchecked Sendable {
    // NSCondition guards `cancelled`; every access holds it.
    private let condition = NSCondition()
    private var cancelled = false

    public init() {}

    public func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }

    public var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelled
    }

    /// Sleeps for `duration` unless cancelled first; returns false when cancelled.
    func sleep(for duration: Duration) -> Bool {
        let deadline = Date(timeIntervalSinceNow: duration.timeInterval)
        condition.lock()
        defer { condition.unlock() }
        while !cancelled {
            if !condition.wait(until: deadline) { return !cancelled }
        }
        return false
    }
}
