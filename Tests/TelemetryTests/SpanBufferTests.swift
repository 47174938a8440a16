import Foundation
import Testing

@testable import Telemetry

/// The bounded buffer between the loops and the exporter.
struct SpanBufferTests {
    static func span(_ id: UInt64) -> SpanRecord {
        SpanRecord(
            traceIDHigh: 0, traceIDLow: 1, spanID: id, parentSpanID: 0, name: "s", kind: .internal, start: 0, end: 1)
    }

    @Test func aFullBufferDropsAndCountsAndADrainEmptiesIt() {
        let buffer = SpanBuffer(capacity: 3)
        for id in 1...5 { buffer.record(Self.span(UInt64(id))) }
        #expect(buffer.recorded == 3)
        #expect(buffer.dropped == 2)
        #expect(buffer.drain().map(\.spanID) == [1, 2, 3])
        #expect(buffer.count == 0)
        buffer.record(Self.span(6))
        #expect(buffer.drain().map(\.spanID) == [6])
    }

    @Test func anExportToNowhereCountsItsSpansAsFailed() throws {
        let buffer = SpanBuffer(capacity: 10)
        // Port 9 on loopback: nothing listens (discard is not served here), the connection is refused.
        var configuration = OTLPExporter.Configuration(
            endpoint: try #require(URL(string: "http://127.0.0.1:9/v1/traces")))
        configuration.timeout = .seconds(2)
        let exporter = OTLPExporter(
            configuration: configuration, buffer: buffer, encoder: OTLPJSONEncoder(resource: []))
        buffer.record(Self.span(1))
        buffer.record(Self.span(2))
        exporter.exportWaiting()
        #expect(exporter.failed == 2)
        #expect(exporter.exported == 0)
        #expect(exporter.exports == 1)
    }
}
