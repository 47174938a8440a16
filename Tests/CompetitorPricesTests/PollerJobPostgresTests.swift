import Foundation
import Logging
import ServiceTestSupport
import Testing

@testable import CompetitorPrices
@testable import Scheduler

/// The poller as a `Scheduler` job: configured from the environment, a run per interval over
/// every source, failures of a source recorded rather than thrown, and prompt cancellation.
@Suite(.serialized) struct PollerJobPostgresTests {
    static func context(_ cancellation: JobCancellation = JobCancellation()) -> JobContext {
        JobContext(
            scheduledAt: Date(), isCatchUp: false, attempt: 1, cancellation: cancellation,
            logger: PollerHarness.quietLogger)
    }

    @Test func theJobIsConfiguredFromTheEnvironment() throws {
        #expect(
            try PollerJob.scheduled(environment: [:], connectionString: "", logger: PollerHarness.quietLogger).isEmpty)
        let jobs = try PollerJob.scheduled(
            environment: ["COMPETITOR_SOURCES": "https://dummyjson.com", "POLL_INTERVAL": "300s"], connectionString: "",
            logger: PollerHarness.quietLogger)
        #expect(jobs.map(\.name) == ["competitor-prices"])
        #expect(jobs.first?.schedule.description == "every 300s")
        #expect(throws: PollerConfigurationError.self) {
            try PollerJob.scheduled(
                environment: ["COMPETITOR_SOURCES": "https://x.example", "POLL_INTERVAL": "500ms"], connectionString: ""
            )
        }
    }

    @Test func aRunPollsEverySourceAndReportsWithoutThrowingForAFailedOne() throws {
        let harness = try PollerHarness(database: "poller_job")
        let good = try PollerFakeServer(catalog: PollerFakeServer.products((1...3).map { ($0, "4.20") }))
        let down = try PollerFakeServer { _, _ in .json("{}", status: 500) }
        let poller = harness.poller {
            $0.sources = [
                try! CompetitorSource(parsing: "http://127.0.0.1:\(good.port)"),
                try! CompetitorSource(parsing: "http://127.0.0.1:\(down.port)"),
            ]
            $0.maxAttempts = 2
        }
        let job = try PollerJob(poller: poller)
        let details = try job.run(Self.context())
        #expect(details["sources"] == "2" && details["items_stored"] == "3")
        #expect(details["statuses"] == .dictionary(["ok": "1", "failed": "1"]))
        #expect(try harness.count("SELECT count(*) FROM poll_runs WHERE status IN ('ok', 'failed')") == 2)
    }

    @Test func cancellingTheSchedulerStopsARunningPoll() throws {
        let harness = try PollerHarness(database: "poller_job_cancel")
        let hanging = try PollerFakeServer { _, _ in .hang }
        defer { hanging.stop() }
        let job = try PollerJob(
            poller: harness.poller {
                $0.sources = [try! CompetitorSource(parsing: "http://127.0.0.1:\(hanging.port)")]
                $0.connectTimeout = .seconds(30)
                $0.requestTimeout = .seconds(30)
            })
        let cancellation = JobCancellation()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { cancellation.cancel() }
        let started = ContinuousClock.now
        #expect(throws: PollerJob.Failure.self) { try job.run(Self.context(cancellation)) }
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(try harness.count("SELECT count(*) FROM poll_runs WHERE status = 'cancelled'") == 1)
        // The same scheduler cancellation, already cancelled, stops the next run at once.
        #expect(throws: PollerJob.Failure.self) { try job.run(Self.context(cancellation)) }
    }
}
