import Synchronization

/// Finished spans waiting for the exporter: a bounded buffer that the event loops append to
/// under a lock held for one append, and that the exporter's thread empties in one swap.
///
/// A full buffer drops the span and counts it, so that a slow or absent collector costs memory
/// up to `capacity` spans and never blocks a loop.
public final class SpanBuffer: Sendable {
    public let capacity: Int
    private let spans: Mutex<[SpanRecord]>
    private let droppedCount = Atomic<Int>(0)
    private let recordedCount = Atomic<Int>(0)

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        spans = Mutex([])
    }

    /// Spans dropped because the buffer was full.
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }
    /// Spans accepted into the buffer.
    public var recorded: Int { recordedCount.load(ordering: .relaxed) }
    /// Spans waiting now.
    public var count: Int { spans.withLock { $0.count } }

    public func record(_ span: SpanRecord) {
        let accepted = spans.withLock { spans in
            guard spans.count < capacity else { return false }
            spans.append(span)
            return true
        }
        if accepted {
            recordedCount.add(1, ordering: .relaxed)
        } else {
            droppedCount.add(1, ordering: .relaxed)
        }
    }

    /// Everything waiting, oldest first; the buffer is empty afterwards.
    public func drain() -> [SpanRecord] {
        spans.withLock { spans in
            let taken = spans
            spans = []
            spans.reserveCapacity(min(capacity, 1024))
            return taken
        }
    }
}
