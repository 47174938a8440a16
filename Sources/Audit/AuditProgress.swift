import Foundation
import Synchronization

/// How far a running audit has got, for a progress bar or a periodic log line: bids reviewed so
/// far (counted by the streams after each fetch), PostgreSQL's estimate of the window's size, and
/// the time since streaming began.
public struct AuditProgress: Sendable, Equatable {
    /// What the run is doing: a bar that stops moving must say why.
    public enum Stage: String, Sendable {
        /// Reading the window and judging its bids.
        case reviewing
        /// Writing the flagged bids (the primary's own ways do it after reviewing, in one statement).
        case writingFlags = "writing flags"
        /// Counting the deviation bands and summarising the flags per product.
        case summarising
    }

    public let stage: Stage
    public let reviewed: Int
    /// The planner's row estimate for the window (nil when it gave none): a bar's scale, not a promise.
    public let expected: Int?
    public let elapsed: Duration

    public init(reviewed: Int, expected: Int?, elapsed: Duration, stage: Stage = .reviewing) {
        self.stage = stage
        self.reviewed = reviewed
        self.expected = expected
        self.elapsed = elapsed
    }

    /// Bids per second so far.
    public var rate: Int {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return seconds > 0 ? Int(Double(reviewed) / seconds) : 0
    }

    /// 0…1 against the estimate, held below 1 until the run ends (the estimate may be short).
    public var fraction: Double? {
        guard let expected, expected > 0 else { return nil }
        return min(Double(reviewed) / Double(expected), 0.99)
    }

    /// The estimate while it is still ahead of the count; nil once the count has passed it (the
    /// planner's estimate was short), so that no "1666666 of ~1641160" is shown.
    public var expectedAhead: Int? {
        guard let expected, expected >= reviewed else { return nil }
        return expected
    }
}

/// The counter the streams add to, and the thread that reports it every `interval` until stopped.
final class AuditProgressReporter: Sendable {
    private let reviewed = Atomic<Int>(0)
    private let stage = Atomic<Int>(0)
    private static let stages: [AuditProgress.Stage] = [.reviewing, .writingFlags, .summarising]
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    func add(_ count: Int) {
        reviewed.add(count, ordering: .relaxed)
    }

    /// The run moved on to `next`; reported from the next tick.
    func enter(_ next: AuditProgress.Stage) {
        stage.store(Self.stages.firstIndex(of: next) ?? 0, ordering: .relaxed)
    }

    func start(expected: Int?, interval: Duration, report: @escaping @Sendable (AuditProgress) -> Void) {
        let started = ContinuousClock.now
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [self] in
            while done.wait(timeout: .now() + seconds) == .timedOut {
                if stopped.load(ordering: .acquiring) { return }
                report(
                    AuditProgress(
                        reviewed: reviewed.load(ordering: .relaxed), expected: expected,
                        elapsed: started.duration(to: .now), stage: Self.stages[stage.load(ordering: .relaxed)]))
            }
        }
        thread.name = "audit-progress"
        thread.start()
    }

    /// Stops the reports; the total is in the run record.
    func stop() {
        stopped.store(true, ordering: .releasing)
        done.signal()
    }
}
