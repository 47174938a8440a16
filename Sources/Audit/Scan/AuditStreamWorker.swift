import BidCore
import Foundation
import Postgres
import Scheduler

/// One session reading the flagged bids of a time slice of the window on its own thread, judged
/// by PostgreSQL (`AuditSetScan.declareFlags`). A cursor's plan is never parallel, so two
/// slices on two sessions are what keeps two backends evaluating the rule at once.
///
/// A worker only reads (a read-only transaction of its own, on any server that has the bids);
/// the flags it finds go through `AuditFlagQueue` to the session that owns the run's
/// transaction, which writes them.
struct AuditStreamWorker: Sendable {
    let connectionString: String
    /// `[start, end)` of this slice, as `timestamptz` input.
    let sliceStart: String
    let sliceEnd: String
    let runID: String
    let rule: AuditRule
    let batchSize: Int
    let queue: AuditFlagQueue
    let cancellation: JobCancellation?
    let progress: AuditProgressReporter?

    func launch() {
        let thread = Thread { [self] in run() }
        thread.name = "audit-stream"
        thread.start()
    }

    private func run() {
        do {
            let session = try PostgresSession(connectionString: connectionString)
            defer { session.close() }
            try session.execute("SET application_name = 'bidengine audit'")
            try session.execute("BEGIN READ ONLY")
            try session.execute(AuditSetScan.declareFlags, [sliceStart, sliceEnd, rule.threshold.description])
            var tally = AuditTally(runID: runID)
            let fetch = AuditSQL.fetch(AuditSetScan.flagsCursor, batchSize)
            while true {
                if queue.isStopped || cancellation?.isCancelled == true { throw AuditError.cancelled }
                let batch = try session.execute(fetch)
                for row in batch.rows { try tally.add(row) }
                progress?.add(batch.rows.count)
                if !tally.pendingFlags.isEmpty {
                    try queue.put(tally.pendingFlags)
                    tally.pendingFlags.removeAll(keepingCapacity: true)
                }
                if batch.rows.count < batchSize { break }
            }
            try session.execute("COMMIT")
            queue.finished(tally)
        } catch {
            queue.failed(AuditError.wrapping(error))
        }
    }
}
