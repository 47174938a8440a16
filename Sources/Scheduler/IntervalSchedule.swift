public import Foundation

/// Every fixed interval on the UTC time line (`every 5m`), aligned to the Unix epoch so that all
/// replicas agree on the instants (a takeover does not shift the cadence).
public struct IntervalSchedule: JobSchedule {
    public let seconds: Int64

    /// Nil unless the interval is at least one second.
    public init?(every interval: Duration) {
        let seconds = interval.components.seconds
        guard seconds >= 1 else { return nil }
        self.seconds = seconds
    }

    public var description: String { "every \(seconds)s" }

    public func nextRun(after date: Date) -> Date {
        let elapsed = Int64(date.timeIntervalSince1970.rounded(.down))
        return Date(timeIntervalSince1970: TimeInterval((floorDivide(elapsed, seconds) + 1) * seconds))
    }

    public func latestRun(atOrBefore date: Date) -> Date? {
        let elapsed = Int64(date.timeIntervalSince1970.rounded(.down))
        return Date(timeIntervalSince1970: TimeInterval(floorDivide(elapsed, seconds) * seconds))
    }

    private func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }
}
