import Audit
import Foundation
import Scheduler
import Testing

/// Schedules without a database: wall-clock times, daylight-saving days, intervals.
@Suite struct SchedulerTests {
    private func date(_ text: String) -> Date { AuditParameters.parseTimestamp(text)! }

    private func daily(_ time: String, _ zone: String) -> DailySchedule {
        DailySchedule(at: WallClockTime(parsing: time)!, in: TimeZone(identifier: zone)!)
    }

    /// `count` consecutive runs starting after `start`.
    private func runs(_ schedule: some JobSchedule, after start: String, count: Int) -> [Date] {
        var runs: [Date] = []
        var cursor = date(start)
        for _ in 0..<count {
            cursor = schedule.nextRun(after: cursor)
            runs.append(cursor)
        }
        return runs
    }

    @Test func dailyInUTCByDefault() {
        #expect(
            runs(daily("02:00", "UTC"), after: "2026-06-14T02:00:00Z", count: 2) == [
                date("2026-06-15T02:00:00Z"), date("2026-06-16T02:00:00Z"),
            ])
        #expect(
            daily("02:00", "UTC").latestRun(atOrBefore: date("2026-06-15T01:59:59Z")) == date("2026-06-14T02:00:00Z"))
        #expect(
            daily("02:00", "UTC").latestRun(atOrBefore: date("2026-06-15T02:00:00Z")) == date("2026-06-15T02:00:00Z"))
    }

    @Test func berlinSpringForwardRunsOnceAtTheFirstInstantAfterTheGap() {
        // 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST; 02:30 does not exist that day.
        #expect(
            runs(daily("02:30", "Europe/Berlin"), after: "2026-03-27T12:00:00Z", count: 3) == [
                date("2026-03-28T01:30:00Z"),  // 02:30 CET
                date("2026-03-29T01:00:00Z"),  // 03:00 CEST, the next valid instant
                date("2026-03-30T00:30:00Z"),  // 02:30 CEST
            ])
        #expect(
            daily("02:30", "Europe/Berlin").latestRun(atOrBefore: date("2026-03-29T05:00:00Z"))
                == date("2026-03-29T01:00:00Z"))
        #expect(
            daily("02:30", "Europe/Berlin").latestRun(atOrBefore: date("2026-03-29T00:59:59Z"))
                == date("2026-03-28T01:30:00Z"))
    }

    @Test func newYorkFallBackRunsOnceAtTheFirstOccurrence() {
        // 2026-11-01: 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
        let schedule = daily("01:30", "America/New_York")
        #expect(
            runs(schedule, after: "2026-10-31T00:00:00Z", count: 3) == [
                date("2026-10-31T05:30:00Z"), date("2026-11-01T05:30:00Z"), date("2026-11-02T06:30:00Z"),
            ])
        // Asked between the two occurrences, the next run is the next day's, never the repeat.
        #expect(schedule.nextRun(after: date("2026-11-01T05:45:00Z")) == date("2026-11-02T06:30:00Z"))
        #expect(schedule.nextRun(after: date("2026-11-01T06:30:00Z")) == date("2026-11-02T06:30:00Z"))
        #expect(schedule.latestRun(atOrBefore: date("2026-11-01T06:45:00Z")) == date("2026-11-01T05:30:00Z"))
    }

    @Test func newYorkSpringForwardAndAMidnightGap() {
        // 2026-03-08 02:30 does not exist in New York: 03:00 EDT (07:00Z).
        #expect(
            daily("02:30", "America/New_York").nextRun(after: date("2026-03-08T05:00:00Z"))
                == date("2026-03-08T07:00:00Z"))
        // Beirut's clocks jump at midnight (2026-03-29 00:00 → 01:00): the day starts at 01:00.
        #expect(
            daily("00:00", "Asia/Beirut").nextRun(after: date("2026-03-28T12:00:00Z")) == date("2026-03-28T22:00:00Z"))
    }

    @Test func intervalsAreAlignedToTheEpoch() {
        let schedule = IntervalSchedule(every: .seconds(300))!
        #expect(schedule.nextRun(after: date("2026-06-15T02:03:10Z")) == date("2026-06-15T02:05:00Z"))
        #expect(schedule.nextRun(after: date("2026-06-15T02:05:00Z")) == date("2026-06-15T02:10:00Z"))
        #expect(schedule.latestRun(atOrBefore: date("2026-06-15T02:09:59Z")) == date("2026-06-15T02:05:00Z"))
        #expect(IntervalSchedule(every: .milliseconds(500)) == nil)
        #expect(schedule.description == "every 300s")
    }

    @Test func wallClockTimes() {
        #expect(WallClockTime(parsing: "02:00")?.description == "02:00")
        #expect(WallClockTime(parsing: "2:30")?.description == "02:30")
        #expect(WallClockTime(parsing: "23:59")?.description == "23:59")
        for bad in ["24:00", "12:60", "2", "02:0", "02:000", "ab:cd", "-1:00", "02:00:00", ""] {
            #expect(WallClockTime(parsing: bad) == nil, "\(bad)")
        }
        #expect(daily("02:00", "Europe/Berlin").description == "daily at 02:00 Europe/Berlin")
        #expect(daily("02:00", "UTC").description == "daily at 02:00 UTC")
    }
}
