/// When the moments of one write happened: the bid queued, its statement sent, the result (the
/// commit included) back. Server-Timing and the write path's spans are made from it.
public struct WriteTiming: Sendable {
    public let enqueued: ContinuousClock.Instant
    /// The statement that carried the bid went out; nil when the bid was never sent (overload, or
    /// no time left after waiting).
    public let sent: ContinuousClock.Instant?
    /// The statement's result arrived, or the failure was decided.
    public let finished: ContinuousClock.Instant
    /// The statement that carried the bid, when its span is recorded (some bid in it is sampled).
    public let statement: TracedStatement?

    public init(
        enqueued: ContinuousClock.Instant, sent: ContinuousClock.Instant?, finished: ContinuousClock.Instant,
        statement: TracedStatement? = nil
    ) {
        self.enqueued = enqueued
        self.sent = sent
        self.finished = finished
        self.statement = statement
    }

    /// A write answered at once, without a statement (a stub's, or an empty group's).
    public static func immediate() -> WriteTiming {
        let now = ContinuousClock.now
        return WriteTiming(enqueued: now, sent: nil, finished: now)
    }

    /// Waiting for a statement.
    public var queue: Duration { enqueued.duration(to: sent ?? finished) }
    /// The statement's round trip, commit included; zero when it was never sent.
    public var database: Duration { sent.map { $0.duration(to: finished) } ?? .zero }
}
