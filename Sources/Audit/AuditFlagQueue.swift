import Foundation

/// Hands the COPY text of flags found by the worker sessions to the session that writes them
/// (the one holding the run's transaction, so that every flag commits or rolls back together),
/// and the workers' final counts back. Bounded: a worker waits while `capacity` bytes are
/// pending, so memory stays flat however many flags a window holds.
final class AuditFlagQueue: @unchecked Sendable {
    // Every field is guarded by `condition`.
    private let condition = NSCondition()
    private let capacity: Int
    private var chunks: [[UInt8]] = []
    private var pendingBytes = 0
    private var running: Int
    private var tallies: [AuditTally] = []
    private var failure: AuditError?
    private var stopped = false

    init(workers: Int, capacity: Int = 16 << 20) {
        running = workers
        self.capacity = capacity
    }

    // MARK: Workers

    /// Queues a chunk, waiting while the queue is full; throws once the run is abandoned.
    func put(_ chunk: [UInt8]) throws(AuditError) {
        condition.lock()
        defer { condition.unlock() }
        while pendingBytes >= capacity, !stopped { condition.wait() }
        if stopped { throw .cancelled }
        chunks.append(chunk)
        pendingBytes += chunk.count
        condition.broadcast()
    }

    /// True once the run is abandoned (another session failed, or the writer gave up).
    var isStopped: Bool {
        condition.lock()
        defer { condition.unlock() }
        return stopped
    }

    func finished(_ tally: AuditTally) {
        condition.lock()
        tallies.append(tally)
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    func failed(_ error: AuditError) {
        condition.lock()
        if failure == nil, !stopped { failure = error }
        stopped = true
        running -= 1
        condition.broadcast()
        condition.unlock()
    }

    // MARK: Writer

    /// Waits for chunks or for the last worker to finish; an empty answer means all finished and
    /// everything was taken. Throws the first worker failure.
    func takeNext() throws(AuditError) -> [[UInt8]] {
        condition.lock()
        defer { condition.unlock() }
        while chunks.isEmpty, running > 0, failure == nil { condition.wait() }
        if let failure { throw failure }
        return drain()
    }

    /// The workers' counts, once `takeNext` returned empty.
    var workerTallies: [AuditTally] {
        condition.lock()
        defer { condition.unlock() }
        return tallies
    }

    /// Abandons the run: waiting workers wake and stop at their next batch. Then waits until
    /// every worker has ended, so no session outlives the run.
    func stopAndWait() {
        condition.lock()
        stopped = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func drain() -> [[UInt8]] {
        defer {
            chunks = []
            pendingBytes = 0
            condition.broadcast()
        }
        return chunks
    }
}
