public import Foundation

/// The wall clock. Waits are absolute wall-clock deadlines, so an NTP step moves them with it,
/// and the scheduler never sleeps longer than its heartbeat anyway.
public struct SystemSchedulerClock: SchedulerClock {
    public init() {}

    public func now() -> Date { Date() }

    public func sleep(until deadline: Date, cancellation: JobCancellation) -> Bool {
        cancellation.wait(until: deadline)
    }
}
