/// A span of blocking work (an audit run and its steps, a maintenance step, a poller page),
/// started on the thread doing the work and recorded into the exporter's buffer when it ends.
///
/// A value: children are made from it, attributes are set on it, and `end` records it, once.
/// A span that is not sampled has no buffer: setting attributes and ending it do nothing, so
/// work that is not traced pays for carrying a few words.
public struct TraceSpan: Sendable {
    public let traceIDHigh: UInt64
    public let traceIDLow: UInt64
    /// Zero when the span records nothing.
    public let spanID: UInt64
    /// Zero for a root span.
    public let parentSpanID: UInt64
    public let name: String
    public let kind: SpanRecord.Kind
    /// Nanoseconds since the Unix epoch.
    public let start: UInt64
    public private(set) var attributes: [(String, SpanAttribute)]
    let buffer: SpanBuffer?
    let traceState: String?

    init(
        traceIDHigh: UInt64, traceIDLow: UInt64, parentSpanID: UInt64, name: String, kind: SpanRecord.Kind,
        attributes: [(String, SpanAttribute)], buffer: SpanBuffer?, traceState: String?
    ) {
        self.traceIDHigh = traceIDHigh
        self.traceIDLow = traceIDLow
        spanID = buffer == nil ? 0 : SpanIdentifiers.nonZero()
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        start = buffer == nil ? 0 : WallClock.now()
        self.attributes = buffer == nil ? [] : attributes
        self.buffer = buffer
        self.traceState = traceState
    }

    /// A span that records nothing, for work started without a tracer.
    public static let untraced = TraceSpan(
        traceIDHigh: 0, traceIDLow: 0, parentSpanID: 0, name: "", kind: .internal, attributes: [], buffer: nil,
        traceState: nil)

    /// True when `end` records the span (the trace is sampled and tracing is on).
    public var isRecording: Bool { buffer != nil }

    /// A span of this trace whose parent is this one, starting now.
    public func child(
        _ name: String, kind: SpanRecord.Kind = .internal, attributes: [(String, SpanAttribute)] = []
    ) -> TraceSpan {
        TraceSpan(
            traceIDHigh: traceIDHigh, traceIDLow: traceIDLow, parentSpanID: spanID, name: name, kind: kind,
            attributes: attributes, buffer: buffer, traceState: traceState)
    }

    /// Sets `key`, replacing an earlier value of it.
    public mutating func set(_ key: String, _ value: SpanAttribute) {
        guard buffer != nil else { return }
        if let index = attributes.firstIndex(where: { $0.0 == key }) {
            attributes[index].1 = value
        } else {
            attributes.append((key, value))
        }
    }

    public mutating func set(_ key: String, _ value: Int) { set(key, .int(Int64(value))) }
    public mutating func set(_ key: String, _ value: Int64) { set(key, .int(value)) }
    public mutating func set(_ key: String, _ value: String) { set(key, .string(value)) }
    public mutating func set(_ key: String, _ value: Bool) { set(key, .bool(value)) }

    /// Records the span, ending now; `error` marks it failed with that message.
    public func end(error: String? = nil) {
        guard let buffer else { return }
        buffer.record(
            SpanRecord(
                traceIDHigh: traceIDHigh, traceIDLow: traceIDLow, spanID: spanID, parentSpanID: parentSpanID,
                name: name, kind: kind, start: start, end: max(start, WallClock.now()), attributes: attributes,
                error: error, traceState: traceState))
    }
}

extension TraceSpan {
    /// Runs `body` in a child span named `name`, which ends when `body` returns, failed with the
    /// error's description when it throws.
    public func withChild<Result>(
        _ name: String, kind: SpanRecord.Kind = .internal, attributes: [(String, SpanAttribute)] = [],
        _ body: (inout TraceSpan) throws -> Result
    ) rethrows -> Result {
        var span = child(name, kind: kind, attributes: attributes)
        do {
            let result = try body(&span)
            span.end()
            return result
        } catch {
            span.end(error: "\(error)")
            throw error
        }
    }
}
