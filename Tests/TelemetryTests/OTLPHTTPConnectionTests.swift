import Foundation
import Testing

@testable import Telemetry

/// Export over the exporter's own HTTP/1.1 connection, against a real collector on a loopback port.
struct OTLPHTTPConnectionTests {
    static func exporter(
        port: Int, headers: [(String, String)] = [], timeout: Duration = .seconds(5)
    ) throws -> OTLPExporter {
        var configuration = OTLPExporter.Configuration(
            endpoint: try #require(URL(string: "http://127.0.0.1:\(port)/v1/traces")))
        configuration.headers = headers
        configuration.timeout = timeout
        return OTLPExporter(
            configuration: configuration, buffer: SpanBuffer(capacity: 100),
            encoder: OTLPJSONEncoder(resource: [("service.name", "test")]))
    }

    static func record(_ ids: ClosedRange<UInt64>, into exporter: OTLPExporter) {
        for id in ids { exporter.buffer.record(SpanBufferTests.span(id)) }
    }

    /// The span ids of an OTLP JSON body, in order.
    static func spanIDs(_ body: [UInt8]) throws -> [String] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let resourceSpans = try #require(root["resourceSpans"] as? [[String: Any]])
        let scopeSpans = try #require(resourceSpans.first?["scopeSpans"] as? [[String: Any]])
        let spans = try #require(scopeSpans.first?["spans"] as? [[String: Any]])
        return spans.compactMap { $0["spanId"] as? String }
    }

    @Test func exportsArePostedAsOTLPJSONOverOneKeptAliveConnection() throws {
        let collector = try LoopbackCollector(.answer(status: 200))
        defer { collector.stop() }
        let exporter = try Self.exporter(
            port: collector.port, headers: [("x-api-key", "secret-1"), ("x-bad", "a\r\nInjected: 1")])
        Self.record(1...3, into: exporter)
        exporter.exportWaiting()
        Self.record(4...5, into: exporter)
        exporter.exportWaiting()
        #expect(exporter.exported == 5)
        #expect(exporter.failed == 0)
        #expect(exporter.exports == 2)
        #expect(collector.connections == 1)
        let requests = collector.requests
        try #require(requests.count == 2)
        let lines = requests[0].head.split(separator: "\r\n").map(String.init)
        #expect(lines.first == "POST /v1/traces HTTP/1.1")
        #expect(lines.contains("Host: 127.0.0.1:\(collector.port)"))
        #expect(lines.contains("Content-Type: application/json"))
        #expect(lines.contains("x-api-key: secret-1"))
        #expect(!lines.contains { $0.hasPrefix("x-bad") || $0.hasPrefix("Injected") })
        #expect(lines.contains("Content-Length: \(requests[0].body.count)"))
        #expect(try Self.spanIDs(requests[0].body) == ["0000000000000001", "0000000000000002", "0000000000000003"])
        #expect(try Self.spanIDs(requests[1].body) == ["0000000000000004", "0000000000000005"])
    }

    @Test func aCollectorThatSaysCloseGetsANewConnectionForTheNextBatch() throws {
        let collector = try LoopbackCollector(.answerAndSayClose)
        defer { collector.stop() }
        let exporter = try Self.exporter(port: collector.port)
        for batch in 0..<3 {
            Self.record(UInt64(batch * 2 + 1)...UInt64(batch * 2 + 2), into: exporter)
            exporter.exportWaiting()
        }
        #expect(exporter.exported == 6)
        #expect(exporter.failed == 0)
        #expect(collector.connections == 3)
        #expect(collector.requests.count == 3)
    }

    @Test func aConnectionClosedWithoutNoticeIsReplacedAndTheBatchStillArrives() throws {
        let collector = try LoopbackCollector(.answerAndCloseQuietly)
        defer { collector.stop() }
        let exporter = try Self.exporter(port: collector.port)
        for batch in 0..<3 {
            Self.record(UInt64(batch + 1)...UInt64(batch + 1), into: exporter)
            exporter.exportWaiting()
        }
        #expect(exporter.exported == 3)
        #expect(exporter.failed == 0)
        #expect(collector.connections == 3)
        #expect(try collector.requests.map { try Self.spanIDs($0.body) }.flatMap { $0 }.count == 3)
    }

    @Test func aCollectorThatNeverAnswersTimesOutAndShutdownDoesNotHang() throws {
        let collector = try LoopbackCollector(.neverAnswer)
        defer { collector.stop() }
        let exporter = try Self.exporter(port: collector.port, timeout: .milliseconds(300))
        exporter.start()
        Self.record(1...2, into: exporter)
        // The last export times out after 300 ms, well inside the shutdown's deadline: its spans
        // are counted as failed by the time shutdown returns.
        exporter.shutdown(deadline: .seconds(10))
        #expect(exporter.failed == 2)
        #expect(exporter.exported == 0)
        #expect(collector.requests.count == 1)
    }

    @Test func aNon2xxAnswerCountsTheSpansAsFailedAndKeepsTheConnection() throws {
        let collector = try LoopbackCollector(.answer(status: 503))
        defer { collector.stop() }
        let exporter = try Self.exporter(port: collector.port)
        Self.record(1...2, into: exporter)
        exporter.exportWaiting()
        Self.record(3...3, into: exporter)
        exporter.exportWaiting()
        #expect(exporter.failed == 3)
        #expect(exporter.exported == 0)
        #expect(exporter.exports == 2)
        #expect(collector.connections == 1)
    }

    @Test func onlyHTTPEndpointsUseTheConnection() throws {
        let plain = try #require(URL(string: "http://collector:4318/v1/traces"))
        let secure = try #require(URL(string: "https://collector:4318/v1/traces"))
        #expect(OTLPHTTPConnection(endpoint: plain, headers: [], timeout: .seconds(1)) != nil)
        #expect(OTLPHTTPConnection(endpoint: secure, headers: [], timeout: .seconds(1)) == nil)
    }
}
