/// Starts the traces of blocking work: `bidengine audit`, `maintain`, `poll`, and the
/// scheduler's runs of the same. Each run is one trace whose root span is the run.
///
/// The sampler is the one `OTEL_TRACES_SAMPLER` names, asked once per root; a caller's context
/// (`TRACEPARENT` in the environment, as a traced program starting a command hands it down)
/// makes the run's root a child of the caller's span in the caller's trace.
public struct Tracer: Sendable {
    /// The caller's span: the parent of every root this tracer starts.
    public struct Parent: Sendable, Equatable {
        public let traceIDHigh: UInt64
        public let traceIDLow: UInt64
        public let spanID: UInt64
        public let isSampled: Bool

        public init(traceIDHigh: UInt64, traceIDLow: UInt64, spanID: UInt64, isSampled: Bool) {
            self.traceIDHigh = traceIDHigh
            self.traceIDLow = traceIDLow
            self.spanID = spanID
            self.isSampled = isSampled
        }
    }

    /// Where finished spans go; nil while tracing is off.
    public let buffer: SpanBuffer?
    public let parent: Parent?
    private let sample: @Sendable (_ traceIDLow: UInt64, _ parentSampled: Bool?) -> Bool

    /// Records nothing: what every run uses while tracing is off.
    public static let off = Tracer(buffer: nil, parent: nil) { _, _ in false }

    /// `sample` decides per root from the low half of its trace id and the caller's sampled flag
    /// (nil without a caller).
    public init(
        buffer: SpanBuffer?, parent: Parent? = nil,
        sample: @escaping @Sendable (_ traceIDLow: UInt64, _ parentSampled: Bool?) -> Bool
    ) {
        self.buffer = buffer
        self.parent = parent
        self.sample = sample
    }

    /// The root span of a new run: in the caller's trace when there is a caller, else in a new one.
    public func startTrace(
        _ name: String, kind: SpanRecord.Kind = .internal, attributes: [(String, SpanAttribute)] = []
    ) -> TraceSpan {
        guard let buffer else { return .untraced }
        let high = parent?.traceIDHigh ?? SpanIdentifiers.nonZero()
        let low = parent?.traceIDLow ?? SpanIdentifiers.nonZero()
        let sampled = sample(low, parent?.isSampled)
        return TraceSpan(
            traceIDHigh: high, traceIDLow: low, parentSpanID: parent?.spanID ?? 0, name: name, kind: kind,
            attributes: attributes, buffer: sampled ? buffer : nil, traceState: nil)
    }
}
