public import Foundation
public import Logging

/// What one run of a job is told.
public struct JobContext: Sendable {
    /// The scheduled instant this run is for (not the moment it started): the audit's `as_of`.
    public let scheduledAt: Date
    /// True when the run makes up for an instant missed while no scheduler was active.
    public let isCatchUp: Bool
    /// 1 for the first attempt at `scheduledAt`, more for retries after failures.
    public let attempt: Int
    /// Cancelled on shutdown: stop at the next safe point and throw.
    public let cancellation: JobCancellation
    public let logger: Logger
}
