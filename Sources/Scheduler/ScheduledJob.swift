public import Foundation
public import Logging

/// A periodic job hosted by `Scheduler`: the nightly audit, the competitor-price poller, …
///
/// `run` is called on the scheduler's own thread and may block (that thread does nothing else);
/// it should check `context.cancellation` between units of work so that shutdown is prompt.
/// Only the replica holding the scheduler lock runs jobs.
public protocol ScheduledJob: Sendable {
    /// Stable and short: the `job` label of the metrics and logs.
    var name: String { get }
    var schedule: any JobSchedule { get }
    /// Whether the run due at `scheduledAt` (the latest instant before the scheduler started or
    /// took over) still has to happen. Jobs whose missed runs do not matter keep the default, false.
    func needsCatchUp(scheduledAt: Date) throws -> Bool
    /// One run; what it returns is logged with the job's end (counts, ids).
    func run(_ context: JobContext) throws -> Logger.Metadata
}

extension ScheduledJob {
    public func needsCatchUp(scheduledAt: Date) throws -> Bool { false }
}
