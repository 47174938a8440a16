/// The W3C Trace Context of one request: the trace it belongs to, this server's span for it, the
/// caller's span, and whether the trace is recorded.
///
/// Ids are plain integers so that a request carries its context without an allocation; their hex
/// text is made only for a log line or an export. A client's `traceparent` continues its trace;
/// without one, or with a malformed one, the request starts a new trace here.
public struct TraceContext: Sendable, Equatable {
    /// The 128-bit trace id, high and low halves (never both zero).
    public let traceIDHigh: UInt64
    public let traceIDLow: UInt64
    /// This server's span for the request (never zero).
    public let spanID: UInt64
    /// The caller's span from `traceparent`; zero when the trace starts here.
    public let parentSpanID: UInt64
    /// Recorded and exported (the sampler's decision; false whenever tracing is off).
    public let isSampled: Bool
    /// The caller's `tracestate`, carried unchanged when well formed alongside a valid
    /// `traceparent`; nil otherwise.
    public let traceState: String?

    public init(
        traceIDHigh: UInt64, traceIDLow: UInt64, spanID: UInt64, parentSpanID: UInt64 = 0, isSampled: Bool = false,
        traceState: String? = nil
    ) {
        self.traceIDHigh = traceIDHigh
        self.traceIDLow = traceIDLow
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.isSampled = isSampled
        self.traceState = traceState
    }

    /// No trace: what a request built in process without one carries (all ids zero, not sampled).
    public static let untraced = TraceContext(traceIDHigh: 0, traceIDLow: 0, spanID: 0)

    /// The trace id as 32 lowercase hex digits, as in `traceparent` and OTLP.
    public var traceIDHex: String { Self.hex(traceIDHigh) + Self.hex(traceIDLow) }

    /// This server's span id as 16 lowercase hex digits.
    public var spanIDHex: String { Self.hex(spanID) }

    /// `value` as 16 lowercase hex digits.
    public static func hex(_ value: UInt64) -> String {
        String(unsafeUninitializedCapacity: 16) { text in
            for index in 0..<16 {
                let nibble = Int((value >> UInt64(60 - 4 * index)) & 0xF)
                text[index] = hexDigits[nibble]
            }
            return 16
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
