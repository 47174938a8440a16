/// One finished span as the event loops record it: plain values, converted to OTLP only on the
/// exporter's thread.
public struct SpanRecord: Sendable {
    public enum Kind: Int, Sendable {
        case `internal` = 1
        case server = 2
        case client = 3
    }

    /// A span in another place of the same or another trace that this one is related to.
    public struct Link: Sendable, Equatable {
        public let traceIDHigh: UInt64
        public let traceIDLow: UInt64
        public let spanID: UInt64

        public init(traceIDHigh: UInt64, traceIDLow: UInt64, spanID: UInt64) {
            self.traceIDHigh = traceIDHigh
            self.traceIDLow = traceIDLow
            self.spanID = spanID
        }
    }

    public let traceIDHigh: UInt64
    public let traceIDLow: UInt64
    public let spanID: UInt64
    /// Zero for a root span.
    public let parentSpanID: UInt64
    public let name: String
    public let kind: Kind
    /// Nanoseconds since the Unix epoch.
    public let start: UInt64
    public let end: UInt64
    public let attributes: [(String, SpanAttribute)]
    public let links: [Link]
    /// An error span carries the reason as its status message.
    public let error: String?
    /// The W3C `tracestate` the span was created under.
    public let traceState: String?

    public init(
        traceIDHigh: UInt64, traceIDLow: UInt64, spanID: UInt64, parentSpanID: UInt64, name: String, kind: Kind,
        start: UInt64, end: UInt64, attributes: [(String, SpanAttribute)] = [], links: [Link] = [],
        error: String? = nil, traceState: String? = nil
    ) {
        self.traceIDHigh = traceIDHigh
        self.traceIDLow = traceIDLow
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.start = start
        self.end = end
        self.attributes = attributes
        self.links = links
        self.error = error
        self.traceState = traceState
    }
}
