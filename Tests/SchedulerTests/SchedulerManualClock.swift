import Foundation
import Scheduler

/// A scheduler clock the test moves by hand, that can tell when every scheduler using it is idle
/// (asleep with a deadline still ahead), so a test advances one night at a time deterministically.
final class SchedulerManualClock: SchedulerClock, @unchecked Sendable {
    // Every field is guarded by `condition`.
    private let condition = NSCondition()
    private var current: Date
    /// Deadlines of the threads sleeping now.
    private var sleepers: [UUID: Date] = [:]

    init(_ start: Date) {
        current = start
    }

    func now() -> Date {
        condition.lock()
        defer { condition.unlock() }
        return current
    }

    func sleep(until deadline: Date, cancellation: JobCancellation) -> Bool {
        let me = UUID()
        condition.lock()
        sleepers[me] = deadline
        condition.broadcast()
        defer {
            sleepers[me] = nil
            condition.broadcast()
            condition.unlock()
        }
        while current < deadline {
            if cancellation.isCancelled { return false }
            // Short real waits so that a cancellation (which does not know this clock) is seen quickly.
            _ = condition.wait(until: Date().addingTimeInterval(0.01))
        }
        return !cancellation.isCancelled
    }

    func advance(to date: Date) {
        condition.lock()
        current = date
        condition.broadcast()
        condition.unlock()
    }

    /// Waits (real time, at most `timeout`) until exactly `count` threads sleep with deadlines
    /// after the current time, and stay so for a moment; false on timeout.
    func waitUntilIdle(sleepers count: Int, timeout: TimeInterval = 10) -> Bool {
        let giveUp = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        var quietSince: Date?
        while Date() < giveUp {
            let idle = sleepers.values.filter { $0 > current }.count == count
            if idle {
                // Stable for 30 ms: no thread is between waking and going back to sleep.
                if let since = quietSince, Date().timeIntervalSince(since) > 0.03 { return true }
                quietSince = quietSince ?? Date()
            } else {
                quietSince = nil
            }
            _ = condition.wait(until: Date().addingTimeInterval(0.005))
        }
        return false
    }
}
