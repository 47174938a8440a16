import Foundation
public import Logging
public import Metrics
import TextFormats

/// Runs periodic jobs on one replica at a time: every replica runs a `Scheduler`; the one that
/// holds the PostgreSQL advisory lock (`LeaderLock`) runs the jobs, the others stand by and poll
/// the lock, taking over within `standbyPollInterval` when the active one's connection ends.
///
/// On becoming active it catches up: for each job, if the latest scheduled instant before now
/// still needs a run (`needsCatchUp`), it runs for that instant at once. Runs are for scheduled
/// instants, not for the moment they start; if several instants passed (a long pause), only the
/// latest is run. A failed run is retried with backoff while that is before the next instant.
///
/// Everything happens on one dedicated thread that blocks on the database and in waits, never on
/// an event loop. `shutdown()` cancels the running job (it stops at its next safe point),
/// releases the lock so a standby can take over at once, and returns when the thread has ended.
public final class Scheduler: @unchecked Sendable {
    private let configuration: SchedulerConfiguration
    private let jobs: [any ScheduledJob]
    private let clock: any SchedulerClock
    private let logger: Logger
    private let metrics: SchedulerMetrics
    /// Cancelled by `shutdown()`; also the running job's cancellation.
    private let stopping = JobCancellation()
    /// Cancelled when the thread has ended.
    private let finished = JobCancellation()
    // Guarded by `stateLock`: read from other threads (tests, probes).
    private let stateLock = NSLock()
    private var leading = false
    private var lockBackendPID: Int32 = 0

    public init(
        configuration: SchedulerConfiguration, jobs: [any ScheduledJob],
        clock: any SchedulerClock = SystemSchedulerClock(),
        logger: Logger = Logger(label: "bidengine.scheduler"), metricsFactory: (any MetricsFactory)? = nil
    ) {
        precondition(Set(jobs.map(\.name)).count == jobs.count, "job names must be unique")
        self.configuration = configuration
        self.jobs = jobs
        self.clock = clock
        self.logger = logger
        metrics = SchedulerMetrics(factory: metricsFactory ?? MetricsSystem.factory)
    }

    /// True while this instance holds the lock.
    public var isLeader: Bool {
        stateLock.withLock { leading }
    }

    /// The backend process id of the lock connection while leading (0 otherwise), so a test can
    /// terminate it the way a crash or a network cut would.
    public var leaderBackendPID: Int32 {
        stateLock.withLock { lockBackendPID }
    }

    /// Starts the scheduler's thread and returns.
    public func start() {
        let thread = Thread { [self] in
            run()
        }
        thread.name = "scheduler"
        thread.start()
    }

    /// Cancels the running job, releases the lock, and waits for the thread to end (at most
    /// `timeout`); false when it did not end in time (a job ignoring cancellation).
    @discardableResult
    public func shutdown(timeout: Duration = .seconds(30)) -> Bool {
        stopping.cancel()
        let deadline = Date().addingTimeInterval(SchedulerConfiguration.interval(timeout))
        // `wait` returns false once `finished` is cancelled, true on timeout.
        return !finished.wait(until: deadline)
    }

    /// Runs on the calling thread until `shutdown()`.
    public func run() {
        defer { finished.cancel() }
        logger.info(
            "scheduler started",
            metadata: [
                "jobs": .array(jobs.map { .string("\($0.name): \($0.schedule)") })
            ])
        while !stopping.isCancelled {
            guard let lock = acquireLeadership() else { break }
            lead(lock)
        }
        logger.notice("scheduler stopped")
    }

    // MARK: Leadership

    /// Connects and polls the lock until it is ours; nil when shutting down first.
    private func acquireLeadership() -> LeaderLock? {
        var delay = configuration.reconnectInitialDelay
        var announcedStandby = false
        while !stopping.isCancelled {
            do {
                let lock = try LeaderLock(connectionString: configuration.connectionString, key: configuration.lockKey)
                delay = configuration.reconnectInitialDelay
                while !stopping.isCancelled {
                    if try lock.tryAcquire() { return lock }
                    if !announcedStandby {
                        logger.info(
                            "another scheduler is active; standing by",
                            metadata: ["lock_key": "\(configuration.lockKey)"])
                        announcedStandby = true
                    }
                    if !pause(configuration.standbyPollInterval) { break }
                }
                lock.release()
                return nil
            } catch {
                logger.warning(
                    "cannot reach the database; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                if !pause(delay) { return nil }
                delay = min(delay * 2, configuration.reconnectMaximumDelay)
            }
        }
        return nil
    }

    /// Runs the jobs while the lock is held; returns when it is lost or on shutdown.
    private func lead(_ lock: LeaderLock) {
        setLeading(true, backendPID: lock.backendPID)
        logger.notice("this replica is now the active scheduler")
        defer {
            lock.release()
            setLeading(false, backendPID: 0)
        }
        var states = initialStates(now: clock.now())
        while !stopping.isCancelled {
            guard lock.isHealthy() else {
                logger.error("lost the scheduler lock: its database connection ended; standing by")
                return
            }
            let now = clock.now()
            if let index = states.indices.filter({ states[$0].due <= now }).min(by: { states[$0].due < states[$1].due })
            {
                run(&states[index])
                continue
            }
            let nextDue = states.map(\.due).min() ?? .distantFuture
            let heartbeat = now.addingTimeInterval(SchedulerConfiguration.interval(configuration.heartbeatInterval))
            if !clock.sleep(until: min(nextDue, heartbeat), cancellation: stopping) { return }
        }
    }

    private func setLeading(_ value: Bool, backendPID: Int32) {
        stateLock.withLock {
            leading = value
            lockBackendPID = backendPID
        }
        metrics.leader.record(value ? 1 : 0)
    }

    // MARK: Jobs

    /// One job's next run.
    private struct JobState {
        let job: any ScheduledJob
        /// When to run next.
        var due: Date
        /// The scheduled instant that run is for.
        var scheduledAt: Date
        var attempt = 1
        var isCatchUp = false
        var isRetry: Bool { attempt > 1 }
    }

    /// Next regular instants, and catch-up runs due at once for missed instants.
    private func initialStates(now: Date) -> [JobState] {
        jobs.map { job in
            let next = job.schedule.nextRun(after: now)
            var state = JobState(job: job, due: next, scheduledAt: next)
            guard let missed = job.schedule.latestRun(atOrBefore: now) else { return state }
            let needed: Bool
            do {
                needed = try job.needsCatchUp(scheduledAt: missed)
            } catch {
                // Running twice is harmless (a re-run replaces its results); not running is not.
                logger.warning(
                    "cannot tell whether a run was missed; running it",
                    metadata: [
                        "job": "\(job.name)", "scheduled_at": "\(AuditTime.text(AuditTime.microseconds(missed)))",
                        "error": "\(error)",
                    ])
                needed = true
            }
            if needed {
                state.due = now
                state.scheduledAt = missed
                state.isCatchUp = true
            }
            return state
        }
    }

    private func run(_ state: inout JobState) {
        let job = state.job
        let now = clock.now()
        // A regular run that wakes late (a long previous job, a suspended process) runs for the
        // latest instant that has passed, once, rather than once per missed instant.
        if !state.isRetry, !state.isCatchUp, let latest = job.schedule.latestRun(atOrBefore: now),
            latest > state.scheduledAt
        {
            logger.warning(
                "scheduled runs were missed; running the latest only",
                metadata: [
                    "job": "\(job.name)", "skipped_from": "\(timestamp(state.scheduledAt))",
                    "running_for": "\(timestamp(latest))",
                ])
            state.scheduledAt = latest
        }
        var jobLogger = logger
        jobLogger[metadataKey: "job"] = "\(job.name)"
        jobLogger[metadataKey: "scheduled_at"] = "\(timestamp(state.scheduledAt))"
        let context = JobContext(
            scheduledAt: state.scheduledAt, isCatchUp: state.isCatchUp, attempt: state.attempt, cancellation: stopping,
            logger: jobLogger)
        jobLogger.info("job started", metadata: ["attempt": "\(state.attempt)", "catch_up": "\(state.isCatchUp)"])
        let started = ContinuousClock.now
        let outcome: String
        do {
            let details = try job.run(context)
            outcome = "success"
            jobLogger.info(
                "job finished",
                metadata: details.merging([
                    "outcome": "\(outcome)", "duration_ms": "\(milliseconds(since: started))",
                ]) { _, new in new })
        } catch {
            outcome = stopping.isCancelled ? "cancelled" : "failure"
            let level: Logger.Level = outcome == "cancelled" ? .notice : .error
            jobLogger.log(
                level: level, "job \(outcome == "cancelled" ? "cancelled" : "failed")",
                metadata: [
                    "outcome": "\(outcome)", "duration_ms": "\(milliseconds(since: started))", "error": "\(error)",
                    "attempt": "\(state.attempt)",
                ])
        }
        let elapsed = started.duration(to: .now)
        metrics.runEnded(
            job: job.name, outcome: outcome,
            nanoseconds: elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000,
            finishedAt: Date().timeIntervalSince1970)
        plan(&state, after: outcome)
    }

    /// The next run after one that ended with `outcome`.
    private func plan(_ state: inout JobState, after outcome: String) {
        let now = clock.now()
        let regular = state.job.schedule.nextRun(after: max(now, state.scheduledAt))
        if outcome == "failure", state.attempt <= configuration.retryDelays.count {
            let retry = now.addingTimeInterval(
                SchedulerConfiguration.interval(configuration.retryDelays[state.attempt - 1]))
            if retry < regular {
                logger.notice(
                    "job will be retried",
                    metadata: [
                        "job": "\(state.job.name)", "retry_at": "\(timestamp(retry))",
                        "next_attempt": "\(state.attempt + 1)",
                    ])
                state.due = retry
                state.attempt += 1
                return
            }
        }
        state = JobState(job: state.job, due: regular, scheduledAt: regular)
    }

    // MARK: Helpers

    /// Waits on the scheduler's clock; false on shutdown.
    private func pause(_ duration: Duration) -> Bool {
        clock.sleep(
            until: clock.now().addingTimeInterval(SchedulerConfiguration.interval(duration)), cancellation: stopping)
    }

    private func timestamp(_ date: Date) -> String {
        AuditTime.text(AuditTime.microseconds(date))
    }

    private func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = start.duration(to: .now)
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }
}
