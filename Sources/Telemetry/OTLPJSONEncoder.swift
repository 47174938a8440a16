/// Spans as an OTLP/HTTP JSON `ExportTraceServiceRequest` body (`POST /v1/traces` with
/// `Content-Type: application/json`).
///
/// The OTLP JSON encoding is protobuf's JSON mapping with OTLP's exceptions: trace and span ids
/// are lowercase hex (not base64), enums are integers, 64-bit integers are decimal strings, and
/// field names are lowerCamelCase.
public struct OTLPJSONEncoder: Sendable {
    /// `service.name` and the other resource attributes (`OTEL_RESOURCE_ATTRIBUTES`).
    public let resource: [(String, String)]
    /// The instrumentation scope: this server.
    public let scopeName: String

    public init(resource: [(String, String)], scopeName: String = "bidengine") {
        self.resource = resource
        self.scopeName = scopeName
    }

    public func encode(_ spans: [SpanRecord]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + spans.count * 512)
        out += #"{"resourceSpans":[{"resource":{"attributes":["#.utf8
        for (index, (key, value)) in resource.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            Self.attribute(key, .string(value), into: &out)
        }
        out += #"]},"scopeSpans":[{"scope":{"name":"#.utf8
        Self.string(scopeName, into: &out)
        out += #"},"spans":["#.utf8
        for (index, span) in spans.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            Self.span(span, into: &out)
        }
        out += "]}]}]}".utf8
        return out
    }

    private static func span(_ span: SpanRecord, into out: inout [UInt8]) {
        out += #"{"traceId":""#.utf8
        hex(span.traceIDHigh, into: &out)
        hex(span.traceIDLow, into: &out)
        out += #"","spanId":""#.utf8
        hex(span.spanID, into: &out)
        out += #"""#.utf8
        if span.parentSpanID != 0 {
            out += #","parentSpanId":""#.utf8
            hex(span.parentSpanID, into: &out)
            out += #"""#.utf8
        }
        if let traceState = span.traceState {
            out += #","traceState":"#.utf8
            string(traceState, into: &out)
        }
        out += #","name":"#.utf8
        string(span.name, into: &out)
        out +=
            #","kind":\#(span.kind.rawValue),"startTimeUnixNano":"\#(span.start)","endTimeUnixNano":"\#(span.end)","attributes":["#
            .utf8
        for (index, (key, value)) in span.attributes.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            attribute(key, value, into: &out)
        }
        out += "]".utf8
        if !span.links.isEmpty {
            out += #","links":["#.utf8
            for (index, link) in span.links.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += #"{"traceId":""#.utf8
                hex(link.traceIDHigh, into: &out)
                hex(link.traceIDLow, into: &out)
                out += #"","spanId":""#.utf8
                hex(link.spanID, into: &out)
                out += #""}"#.utf8
            }
            out += "]".utf8
        }
        if let error = span.error {
            // STATUS_CODE_ERROR
            out += #","status":{"code":2,"message":"#.utf8
            string(error, into: &out)
            out += "}".utf8
        }
        out += "}".utf8
    }

    private static func attribute(_ key: String, _ value: SpanAttribute, into out: inout [UInt8]) {
        out += #"{"key":"#.utf8
        string(key, into: &out)
        out += #","value":{"#.utf8
        switch value {
        case .string(let text):
            out += #""stringValue":"#.utf8
            string(text, into: &out)
        case .int(let number):
            out += #""intValue":"\#(number)""#.utf8
        case .bool(let flag):
            out += #""boolValue":\#(flag)"#.utf8
        }
        out += "}}".utf8
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func hex(_ value: UInt64, into out: inout [UInt8]) {
        for shift in stride(from: 60, through: 0, by: -4) {
            out.append(hexDigits[Int((value >> UInt64(shift)) & 0xF)])
        }
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func string(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case 0x0D: out += #"\r"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0..<0x20:
                out += #"\u00"#.utf8
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
