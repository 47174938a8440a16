public import Foundation

/// Time as the scheduler sees it, so tests can run nights in milliseconds.
public protocol SchedulerClock: Sendable {
    func now() -> Date
    /// Waits until `deadline` unless `cancellation` fires first; false when cancelled.
    func sleep(until deadline: Date, cancellation: JobCancellation) -> Bool
}
