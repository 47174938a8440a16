public import Foundation

/// When a job is due: a rule over the time line that the scheduler asks for the next instant.
///
/// Rules are pure functions of the instant they are given, so every replica computes the same
/// instants and a standby that takes over keeps the cadence of the one that died.
public protocol JobSchedule: Sendable, CustomStringConvertible {
    /// The first scheduled instant strictly after `date`.
    func nextRun(after date: Date) -> Date
    /// The last scheduled instant at or before `date`: the run a scheduler that starts (or takes
    /// over) at `date` may have missed.
    func latestRun(atOrBefore date: Date) -> Date?
}
