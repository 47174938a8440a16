import BidCore
import Foundation
import Logging
import Postgres
import ServiceTestSupport
import Testing

@testable import Audit
@testable import Scheduler
@testable import TextFormats

/// The scheduler against real PostgreSQL, on a hand-moved clock: leadership across instances,
/// catch-up, retries, shutdown, and nights with a daylight-saving change, with the real audit.
@Suite struct SchedulerPostgresTests {
    private static let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    private func date(_ text: String) -> Date { AuditTestDatabase.date(text) }

    private func configuration(_ url: String) -> SchedulerConfiguration {
        var configuration = SchedulerConfiguration(connectionString: url)
        configuration.reconnectInitialDelay = .milliseconds(50)
        configuration.retryDelays = [.seconds(60)]
        return configuration
    }

    private func auditScheduler(
        _ database: AuditTestDatabase, clock: SchedulerManualClock, at time: String = "02:00", zone: String = "UTC",
        metrics: SchedulerTestMetrics = SchedulerTestMetrics()
    ) -> Scheduler {
        let schedule = DailySchedule(at: WallClockTime(parsing: time)!, in: TimeZone(identifier: zone)!)
        let job = AuditJob(
            connectionString: database.connectionString, schedule: schedule, logger: Self.quiet, metricsFactory: metrics
        )
        return Scheduler(
            configuration: configuration(database.connectionString), jobs: [job], clock: clock, logger: Self.quiet,
            metricsFactory: metrics)
    }

    /// The audited instants, oldest first, with who triggered them.
    private func audits(_ database: AuditTestDatabase) throws -> [String] {
        try database.rows(
            """
            SELECT to_char(as_of AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ' ' || triggered_by || ' ' || status
            FROM audit_runs ORDER BY as_of
            """
        ).map { $0[0] ?? "" }
    }

    /// One flagged bid per day, so every audit has something in its window.
    private func seedDays(_ database: AuditTestDatabase, from first: String, days: Int) throws {
        try database.session.execute(
            """
            INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc, calculated_at)
            SELECT d, 1.00, 200, 2.00, $1::timestamptz + d * interval '1 day' FROM generate_series(0, $2::int - 1) d
            """, [first, String(days)])
    }

    @Test func twoSchedulersRunExactlyOneAuditPerNightAndTheStandbyTakesOver() throws {
        let database = try AuditTestDatabase("scheduler_two")
        try seedDays(database, from: "2026-02-20T12:00:00Z", days: 14)
        let clock = SchedulerManualClock(date("2026-03-01T01:00:00Z"))
        let metrics = [SchedulerTestMetrics(), SchedulerTestMetrics()]
        let schedulers = metrics.map { auditScheduler(database, clock: clock, metrics: $0) }
        for scheduler in schedulers { scheduler.start() }
        defer { for scheduler in schedulers { scheduler.shutdown() } }
        #expect(clock.waitUntilIdle(sleepers: 2))
        #expect(schedulers.filter(\.isLeader).count == 1)
        let leader = schedulers[0].isLeader ? 0 : 1
        // Nobody had audited 2026-02-28T02:00Z: the new leader catches it up at once.
        #expect(try audits(database) == ["2026-02-28T02:00:00Z schedule succeeded"])

        for night in ["2026-03-01T02:00:00Z", "2026-03-02T02:00:00Z"] {
            clock.advance(to: date(night))
            #expect(clock.waitUntilIdle(sleepers: 2))
        }
        clock.advance(to: date("2026-03-02T14:00:00Z"))
        #expect(clock.waitUntilIdle(sleepers: 2))
        #expect(try audits(database).count == 3)

        // The leader dies: its lock connection is cut (PostgreSQL frees the lock) and it runs no more.
        try database.session.execute("SELECT pg_terminate_backend($1)", [String(schedulers[leader].leaderBackendPID)])
        #expect(schedulers[leader].shutdown())
        clock.advance(to: date("2026-03-03T02:10:00Z"))
        #expect(clock.waitUntilIdle(sleepers: 1))
        #expect(schedulers[1 - leader].isLeader)
        clock.advance(to: date("2026-03-04T02:00:00Z"))
        #expect(clock.waitUntilIdle(sleepers: 1))

        #expect(
            try audits(database) == [
                "2026-02-28T02:00:00Z schedule succeeded", "2026-03-01T02:00:00Z schedule succeeded",
                "2026-03-02T02:00:00Z schedule succeeded", "2026-03-03T02:00:00Z schedule succeeded",
                "2026-03-04T02:00:00Z schedule succeeded",
            ])
        // Exactly one execution per night across both instances (a replaced re-run would hide in audit_runs).
        let runs = metrics.map { $0.value("bidengine_job_runs_total", [("job", "audit"), ("outcome", "success")]) }
        #expect(runs[leader] == 3)
        #expect(runs[1 - leader] == 2)
        #expect(metrics[1 - leader].recorded("bidengine_scheduler_leader") == 1)
        #expect(metrics[leader].recorded("bidengine_scheduler_leader") == 0)
        #expect(metrics[1 - leader].value("bidengine_job_duration_seconds", [("job", "audit")]) == 2)
        #expect(metrics[1 - leader].recorded("bidengine_audit_bids_reviewed") == 7)
        #expect(metrics[1 - leader].recorded("bidengine_job_last_success_timestamp_seconds", [("job", "audit")]) != nil)
    }

    @Test func aMissedRunIsCaughtUpOnStartAndManualRunsDoNotCount() throws {
        let database = try AuditTestDatabase("scheduler_catch_up")
        try seedDays(database, from: "2026-02-20T12:00:00Z", days: 14)
        let runner = database.runner()
        _ = try runner.run(AuditParameters(asOf: date("2026-03-01T02:00:00Z"), trigger: .schedule))
        _ = try runner.run(AuditParameters(asOf: date("2026-03-02T05:00:00Z"), trigger: .manual))
        // Down over the night of 2026-03-02, started again at 09:00.
        let clock = SchedulerManualClock(date("2026-03-02T09:00:00Z"))
        let first = auditScheduler(database, clock: clock)
        first.start()
        #expect(clock.waitUntilIdle(sleepers: 1))
        #expect(
            try audits(database) == [
                "2026-03-01T02:00:00Z schedule succeeded", "2026-03-02T02:00:00Z schedule succeeded",
                "2026-03-02T05:00:00Z manual succeeded",
            ])
        #expect(first.shutdown())
        // Started again the same morning: nothing is missing, nothing runs.
        let metrics = SchedulerTestMetrics()
        let second = auditScheduler(database, clock: clock, metrics: metrics)
        second.start()
        #expect(clock.waitUntilIdle(sleepers: 1))
        #expect(second.shutdown())
        #expect(metrics.value("bidengine_job_runs_total", [("job", "audit"), ("outcome", "success")]) == 0)
        #expect(try audits(database).count == 3)
    }

    /// The audits a scheduler runs at `time` in `zone`, started at `start` and moved through `instants`.
    private func nights(_ name: String, at time: String, zone: String, start: String, instants: [String]) throws
        -> [String]
    {
        let database = try AuditTestDatabase(name)
        try seedDays(database, from: AuditTime.text(AuditTime.microseconds(date(start)) - 8 * 86_400_000_000), days: 12)
        let clock = SchedulerManualClock(date(start))
        let scheduler = auditScheduler(database, clock: clock, at: time, zone: zone)
        scheduler.start()
        for instant in instants {
            #expect(clock.waitUntilIdle(sleepers: 1))
            clock.advance(to: date(instant))
        }
        #expect(clock.waitUntilIdle(sleepers: 1))
        #expect(scheduler.shutdown())
        return try audits(database)
    }

    @Test func daylightSavingNightsRunOnceEach() throws {
        // 02:30 CET; on the spring-forward day 03:00 CEST (02:30 does not exist); then 02:30 CEST.
        #expect(
            try nights(
                "scheduler_berlin", at: "02:30", zone: "Europe/Berlin", start: "2026-03-28T12:00:00Z",
                instants: [
                    "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z",
                ]
            ) == [
                "2026-03-28T01:30:00Z schedule succeeded", "2026-03-29T01:00:00Z schedule succeeded",
                "2026-03-30T00:30:00Z schedule succeeded",
            ])
        // 01:30 EDT; on the fall-back day only the first 01:30 (EDT), not the repeat at 06:30Z; then 01:30 EST.
        #expect(
            try nights(
                "scheduler_new_york", at: "01:30", zone: "America/New_York", start: "2026-10-31T12:00:00Z",
                instants: [
                    "2026-11-01T05:30:00Z", "2026-11-01T05:45:00Z", "2026-11-01T06:30:00Z", "2026-11-02T06:30:00Z",
                ]
            ) == [
                "2026-10-31T05:30:00Z schedule succeeded", "2026-11-01T05:30:00Z schedule succeeded",
                "2026-11-02T06:30:00Z schedule succeeded",
            ])
    }

    @Test func shutdownCancelsTheRunningJobAndHandsTheLockOver() throws {
        let database = try AuditTestDatabase("scheduler_shutdown")
        let clock = SchedulerManualClock(date("2026-03-01T00:00:30Z"))
        let job = SchedulerTestJob(schedule: IntervalSchedule(every: .seconds(60))!) { context, _ in
            // A long job that only stops when told to.
            while !context.cancellation.isCancelled {
                _ = context.cancellation.wait(until: Date().addingTimeInterval(1))
            }
            throw SchedulerTestJob.Failure()
        }
        let metrics = SchedulerTestMetrics()
        let active = Scheduler(
            configuration: configuration(database.connectionString), jobs: [job], clock: clock, logger: Self.quiet,
            metricsFactory: metrics)
        active.start()
        #expect(clock.waitUntilIdle(sleepers: 1))
        let standby = Scheduler(
            configuration: configuration(database.connectionString),
            jobs: [SchedulerTestJob(schedule: IntervalSchedule(every: .seconds(3600))!)],
            clock: clock, logger: Self.quiet, metricsFactory: SchedulerTestMetrics())
        standby.start()
        defer { standby.shutdown() }
        #expect(clock.waitUntilIdle(sleepers: 2))
        #expect(active.isLeader && !standby.isLeader)

        clock.advance(to: date("2026-03-01T00:01:00Z"))
        #expect(job.started.wait(timeout: .now() + 5) == .success)
        let begun = Date()
        #expect(active.shutdown(timeout: .seconds(5)))
        #expect(Date().timeIntervalSince(begun) < 2)
        #expect(metrics.value("bidengine_job_runs_total", [("job", "test"), ("outcome", "cancelled")]) == 1)
        #expect(metrics.value("bidengine_job_runs_total", [("job", "test"), ("outcome", "failure")]) == 0)
        // The lock was released, not left to a timeout: the standby's next poll takes it.
        clock.advance(to: date("2026-03-01T00:01:06Z"))
        #expect(clock.waitUntilIdle(sleepers: 1))
        #expect(standby.isLeader)
    }

    @Test func aFailedRunIsRetriedForTheSameInstant() throws {
        let database = try AuditTestDatabase("scheduler_retry")
        let clock = SchedulerManualClock(date("2026-03-01T00:00:00Z"))
        let job = SchedulerTestJob(schedule: IntervalSchedule(every: .seconds(3600))!) { _, run in
            if run == 0 { throw SchedulerTestJob.Failure() }
        }
        let metrics = SchedulerTestMetrics()
        let scheduler = Scheduler(
            configuration: configuration(database.connectionString), jobs: [job], clock: clock, logger: Self.quiet,
            metricsFactory: metrics)
        scheduler.start()
        defer { scheduler.shutdown() }
        #expect(clock.waitUntilIdle(sleepers: 1))
        clock.advance(to: date("2026-03-01T01:00:00Z"))
        #expect(clock.waitUntilIdle(sleepers: 1))
        clock.advance(to: date("2026-03-01T01:01:00Z"))  // the retry, 60 s later
        #expect(clock.waitUntilIdle(sleepers: 1))
        clock.advance(to: date("2026-03-01T02:00:00Z"))
        #expect(clock.waitUntilIdle(sleepers: 1))
        #expect(
            job.runs.map(\.scheduledAt) == [
                date("2026-03-01T01:00:00Z"), date("2026-03-01T01:00:00Z"), date("2026-03-01T02:00:00Z"),
            ])
        #expect(job.runs.map(\.attempt) == [1, 2, 1])
        #expect(metrics.value("bidengine_job_runs_total", [("job", "test"), ("outcome", "failure")]) == 1)
        #expect(metrics.value("bidengine_job_runs_total", [("job", "test"), ("outcome", "success")]) == 2)
    }
}
