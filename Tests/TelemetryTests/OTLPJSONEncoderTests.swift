import Foundation
import Testing

@testable import Telemetry

/// The OTLP JSON body: ids in hex, enums as integers, 64-bit numbers as strings.
struct OTLPJSONEncoderTests {
    @Test func aSpanIsEncodedAsOTLPJSON() throws {
        let span = SpanRecord(
            traceIDHigh: 0x4bf9_2f35_77b3_4da6, traceIDLow: 0xa3ce_929d_0e0e_4736, spanID: 0x00f0_67aa_0ba9_02b7,
            parentSpanID: 0x1, name: "POST /api/bid", kind: .server, start: 1_700_000_000_000_000_000,
            end: 1_700_000_000_001_150_000,
            attributes: [("http.response.status_code", .int(200)), ("q\"uote", .string("a\nb")), ("ok", .bool(true))],
            links: [SpanRecord.Link(traceIDHigh: 2, traceIDLow: 3, spanID: 4)], error: "boom", traceState: "a=b")
        let body = OTLPJSONEncoder(resource: [("service.name", "bidengine")]).encode([span])
        let text = String(decoding: body, as: UTF8.self)
        #expect(
            text
                == #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"bidengine"}}]},"#
                // pragma: allowlist nextline secret (W3C example trace id)
                + #""scopeSpans":[{"scope":{"name":"bidengine"},"spans":[{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","#
                + #""spanId":"00f067aa0ba902b7","parentSpanId":"0000000000000001","traceState":"a=b","name":"POST /api/bid","#
                + #""kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000001150000","#
                + #""attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}},"#
                + #"{"key":"q\"uote","value":{"stringValue":"a\nb"}},{"key":"ok","value":{"boolValue":true}}],"#
                + #""links":[{"traceId":"00000000000000020000000000000003","spanId":"0000000000000004"}],"#
                + #""status":{"code":2,"message":"boom"}}]}]}]}"#)
        // And it is JSON.
        _ = try JSONSerialization.jsonObject(with: Data(body))
    }

    @Test func aRootSpanHasNoParentField() {
        let span = SpanRecord(
            traceIDHigh: 1, traceIDLow: 2, spanID: 3, parentSpanID: 0, name: "x", kind: .internal, start: 1, end: 2)
        let text = String(decoding: OTLPJSONEncoder(resource: []).encode([span]), as: UTF8.self)
        #expect(!text.contains("parentSpanId"))
        #expect(!text.contains("status"))
        #expect(text.contains(#""kind":1"#))
    }
}
