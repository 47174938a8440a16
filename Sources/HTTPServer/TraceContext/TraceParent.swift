/// A `traceparent` header value as the W3C Trace Context recommendation defines it:
/// `version-traceid-parentid-flags`, lowercase hex only.
///
/// Version `00` is exactly 55 characters. A later version (any but the forbidden `ff`) is read
/// by its first four fields, and must end there or continue with `-`, as the recommendation asks
/// of a parser meeting a version it does not know. A trace id or parent id of all zeros is
/// invalid. Parsing reads the string's UTF-8 in place and allocates nothing.
public struct TraceParent: Sendable, Equatable {
    public let traceIDHigh: UInt64
    public let traceIDLow: UInt64
    public let parentSpanID: UInt64
    public let flags: UInt8

    /// The caller recorded its part of the trace.
    public var isSampled: Bool { flags & 0x01 != 0 }

    /// The parsed value, or nil when `value` is not a valid `traceparent`.
    public init?(_ value: String) {
        var value = value
        guard let parsed = value.withUTF8({ Self.parse($0) }) else { return nil }
        self = parsed
    }

    init(traceIDHigh: UInt64, traceIDLow: UInt64, parentSpanID: UInt64, flags: UInt8) {
        self.traceIDHigh = traceIDHigh
        self.traceIDLow = traceIDLow
        self.parentSpanID = parentSpanID
        self.flags = flags
    }

    private static let dash = UInt8(ascii: "-")

    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> TraceParent? {
        guard bytes.count >= 55,
            bytes[2] == dash, bytes[35] == dash, bytes[52] == dash,
            let version = hexValue(bytes, from: 0, count: 2), version != 0xFF
        else { return nil }
        if version == 0 {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55, bytes[55] != dash {
            return nil
        }
        guard let high = hexValue(bytes, from: 3, count: 16),
            let low = hexValue(bytes, from: 19, count: 16),
            let parent = hexValue(bytes, from: 36, count: 16),
            let flags = hexValue(bytes, from: 53, count: 2),
            high != 0 || low != 0, parent != 0
        else { return nil }
        return TraceParent(traceIDHigh: high, traceIDLow: low, parentSpanID: parent, flags: UInt8(flags))
    }

    /// `count` lowercase hex digits from `start`, or nil if any is not one.
    private static func hexValue(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, count: Int) -> UInt64? {
        var value: UInt64 = 0
        for index in start..<start + count {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}
