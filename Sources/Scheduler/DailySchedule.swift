public import Foundation

/// Once a day at a wall-clock time in an IANA time zone (`02:00` in `Europe/Berlin`), correct
/// across daylight-saving changes:
///
/// - on a spring-forward day whose gap contains the time (02:30 in Berlin on the last Sunday of
///   March), the run happens at the first instant after the gap (03:00 CEST), once;
/// - on a fall-back day where the time occurs twice (01:30 in New York on the first Sunday of
///   November), the run happens at the first occurrence (01:30 EDT) only.
///
/// Each day's instant is computed from that day's start with Foundation's `Calendar` (`.nextTime`,
/// `.first`) and never from "the previous run plus 24 hours": asking `Calendar` for the next
/// match after an arbitrary instant returns the *second* 01:30 when asked between the two, which
/// would run the job twice that night.
public struct DailySchedule: JobSchedule {
    public let time: WallClockTime
    public let timeZone: TimeZone
    private let calendar: Calendar

    public init(at time: WallClockTime, in timeZone: TimeZone) {
        self.time = time
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// Foundation on Linux names UTC "GMT"; the schedule says UTC, as it is configured and documented.
    public var description: String {
        "daily at \(time) \(timeZone.secondsFromGMT() == 0 && ["GMT", "UTC"].contains(timeZone.identifier) ? "UTC" : timeZone.identifier)"
    }

    public func nextRun(after date: Date) -> Date {
        for offset in 0...3 {
            if let instant = instant(onDayOf: date, offsetBy: offset), instant > date { return instant }
        }
        // Unreachable for real zones (a day always has the time or the first instant after its gap).
        return date.addingTimeInterval(86_400)
    }

    public func latestRun(atOrBefore date: Date) -> Date? {
        for offset in 0...3 {
            if let instant = instant(onDayOf: date, offsetBy: -offset), instant <= date { return instant }
        }
        return nil
    }

    /// The run instant on the local calendar day `offset` days from the day containing `date`.
    func instant(onDayOf date: Date, offsetBy offset: Int) -> Date? {
        // Noon is never inside a DST transition, so stepping days from it cannot skip or repeat one.
        let today = calendar.dateComponents([.year, .month, .day], from: date)
        guard
            let noon = calendar.date(
                from: DateComponents(year: today.year, month: today.month, day: today.day, hour: 12)),
            let day = calendar.date(byAdding: .day, value: offset, to: noon)
        else { return nil }
        let start = calendar.startOfDay(for: day)
        return calendar.nextDate(
            after: start.addingTimeInterval(-1),
            matching: DateComponents(hour: time.hour, minute: time.minute, second: 0),
            matchingPolicy: .nextTime, repeatedTimePolicy: .first, direction: .forward)
    }
}
