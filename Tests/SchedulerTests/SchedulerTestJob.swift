import Foundation
import Logging
import Scheduler

/// A job whose behaviour a test chooses, recording each run it is given.
final class SchedulerTestJob: ScheduledJob, @unchecked Sendable {
    struct Failure: Error {}

    let name: String
    let schedule: any JobSchedule
    /// Called with the context and the 0-based run number; throw to fail the run.
    private let behaviour: @Sendable (JobContext, Int) throws -> Void
    private let lock = NSLock()
    private var recorded: [(scheduledAt: Date, attempt: Int)] = []
    /// Signalled as each run starts.
    let started = DispatchSemaphore(value: 0)

    init(
        name: String = "test", schedule: any JobSchedule,
        behaviour: @escaping @Sendable (JobContext, Int) throws -> Void = { _, _ in }
    ) {
        self.name = name
        self.schedule = schedule
        self.behaviour = behaviour
    }

    var runs: [(scheduledAt: Date, attempt: Int)] {
        lock.withLock { recorded }
    }

    func run(_ context: JobContext) throws -> Logger.Metadata {
        let index = lock.withLock {
            recorded.append((context.scheduledAt, context.attempt))
            return recorded.count - 1
        }
        started.signal()
        try behaviour(context, index)
        return ["run": "\(index)"]
    }
}
