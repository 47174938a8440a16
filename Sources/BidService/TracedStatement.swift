public import HTTPServer
import Telemetry

/// A bid statement whose span is recorded: the span lives in the trace of the first sampled
/// request it carried (as a child of that request's span) and links to the other sampled
/// requests, whose queue spans link back to it. One statement, one span, however many bids
/// it carried.
public struct TracedStatement: Sendable {
    /// The trace of the first sampled request in the statement, and the statement's own span.
    public let traceIDHigh: UInt64
    public let traceIDLow: UInt64
    public let spanID: UInt64
    /// That request's span: the statement span's parent.
    public let parentSpanID: UInt64
    /// Every sampled request the statement carried, the first included.
    public let requests: [TraceContext]
    public let bids: Int
    public let groups: Int

    /// Nil unless some request in `traces` is sampled; allocates nothing then.
    static func make(traces: some Sequence<TraceContext>, bids: Int, groups: Int) -> TracedStatement? {
        var sampled: [TraceContext] = []
        for trace in traces where trace.isSampled { sampled.append(trace) }
        guard let first = sampled.first else { return nil }
        return TracedStatement(
            traceIDHigh: first.traceIDHigh, traceIDLow: first.traceIDLow, spanID: SpanIdentifiers.nonZero(),
            parentSpanID: first.spanID,
            requests: sampled, bids: bids, groups: groups)
    }
}
