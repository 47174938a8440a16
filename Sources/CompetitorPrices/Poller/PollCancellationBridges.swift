import Scheduler
import Synchronization

/// One `PollCancellation` per scheduler cancellation, registered with it once: the scheduler
/// hands every run the same `JobCancellation`, and registering a handler per run would grow its
/// handler list for as long as the process lives.
final class PollCancellationBridges: Sendable {
    // The JobCancellation is kept alive so its identifier cannot be reused by another object.
    private let bridges = Mutex<[ObjectIdentifier: (JobCancellation, PollCancellation)]>([:])

    func cancellation(for jobCancellation: JobCancellation) -> PollCancellation {
        let (poll, isNew) = bridges.withLock { bridges -> (PollCancellation, Bool) in
            if let existing = bridges[ObjectIdentifier(jobCancellation)] { return (existing.1, false) }
            let poll = PollCancellation()
            bridges[ObjectIdentifier(jobCancellation)] = (jobCancellation, poll)
            return (poll, true)
        }
        // Outside the lock: `onCancel` runs the handler at once when already cancelled.
        if isNew { jobCancellation.onCancel { poll.cancel() } }
        return poll
    }
}
