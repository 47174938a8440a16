import Foundation
import Synchronization

/// How far a running audit has got, for a progress bar or a periodic log line: bids reviewed so
/// far (counted by the streams after each fetch), PostgreSQL's estimate of the window's size, and
/// the time since streaming began.
public struct AuditProgress: Sendable, Equatable {
    public let reviewed: Int
    /// The planner's row estimate for the window (nil when it gave none): a bar's scale, not a promise.
    public let expected: Int?
    public let elapsed: Duration

    public init(reviewed: Int, expected: Int?, elapsed: Duration) {
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
}

/// The counter the streams add to, and the thread that reports it every `interval` until stopped.
final class AuditProgressReporter: Sendable {
    private let reviewed = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    func add(_ count: Int) {
        reviewed.add(count, ordering: .relaxed)
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
                        elapsed: started.duration(to: .now)))
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
