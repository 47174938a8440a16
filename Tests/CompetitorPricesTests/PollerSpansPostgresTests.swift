import Foundation
import ServiceTestSupport
import Telemetry
import Testing

@testable import CompetitorPrices

/// A poll is one trace: a root span, a span per source under it, and a client span per page
/// under each source, with the counts the `poll_runs` rows have and each page's HTTP status.
@Suite(.serialized) struct PollerSpansPostgresTests {
    static func attributes(_ span: SpanRecord) -> [String: String] {
        Dictionary(uniqueKeysWithValues: span.attributes.map { ($0.0, "\($0.1)") })
    }

    @Test func aPollIsOneTraceWithASpanPerSourceAndPerPage() throws {
        let harness = try PollerHarness(database: "poller_spans")
        let catalog = PollerFakeServer.products((1...23).map { ($0, "2.\($0)") })
        // The second page's first answer is a 503: retried once.
        let good = try PollerFakeServer { request, index in
            index == 1
                ? .json("{}", status: 503)
                : .json(PollerFakeServer.page(catalog, skip: request.skip, limit: request.limit))
        }
        let missing = try PollerFakeServer { _, _ in .json(#"{"message":"not found"}"#, status: 404) }
        let buffer = SpanBuffer(capacity: 100)
        let sources = [
            try CompetitorSource(parsing: "http://127.0.0.1:\(good.port)"),
            try CompetitorSource(parsing: "http://127.0.0.1:\(missing.port)"),
        ]
        let summaries = harness.poller(tracer: Tracer(buffer: buffer) { _, _ in true }).pollAll(sources)
        #expect(summaries.map(\.status) == [.ok, .failed])

        let spans = buffer.drain()
        let root = try #require(spans.last)
        #expect(root.name == "poll" && root.parentSpanID == 0 && root.error == nil)
        #expect(
            Self.attributes(root) == [
                "bidengine.poll.sources": "int(2)", "bidengine.poll.items_stored": "int(23)",
                "bidengine.poll.failed_sources": "int(1)",
            ])
        #expect(spans.allSatisfy { $0.traceIDHigh == root.traceIDHigh && $0.traceIDLow == root.traceIDLow })
        let sourceSpans = spans.filter { $0.name == "poll source" }
        #expect(sourceSpans.count == 2 && sourceSpans.allSatisfy { $0.parentSpanID == root.spanID })
        let goodSource = try #require(
            sourceSpans.first { Self.attributes($0)["bidengine.poll.competitor"] == #"string("\#(sources[0].name)")"# })
        let missingSource = try #require(
            sourceSpans.first { Self.attributes($0)["bidengine.poll.competitor"] == #"string("\#(sources[1].name)")"# })
        #expect(
            Self.attributes(goodSource) == [
                "bidengine.poll.competitor": #"string("\#(sources[0].name)")"#,
                "bidengine.poll.run_id": "int(\(summaries[0].runID ?? -1))", "bidengine.poll.status": #"string("ok")"#,
                "bidengine.poll.pages": "int(3)", "bidengine.poll.requests": "int(4)",
                "bidengine.poll.items": "int(23)",
                "bidengine.poll.stored": "int(23)", "bidengine.poll.rejected": "int(0)",
                "bidengine.poll.errors": "int(0)",
            ])
        #expect(goodSource.error == nil)
        #expect(Self.attributes(missingSource)["bidengine.poll.status"] == #"string("failed")"#)
        #expect(missingSource.error == "skip=0: HTTP 404")

        let goodPages = spans.filter { $0.name == "poll page" && $0.parentSpanID == goodSource.spanID }
        #expect(goodPages.allSatisfy { $0.kind == .client && $0.error == nil })
        let base = "http://127.0.0.1:\(good.port)/products?limit=10&skip="
        #expect(
            goodPages.map(Self.attributes)
                == [(1, 0, 1, 10), (2, 10, 2, 10), (3, 20, 1, 3)].map {
                    page, skip, requests, items in
                    [
                        "bidengine.poll.page": "int(\(page))", "bidengine.poll.skip": "int(\(skip))",
                        "server.address": #"string("127.0.0.1")"#, "url.full": #"string("\#(base)\#(skip)")"#,
                        "bidengine.poll.requests": "int(\(requests))", "bidengine.poll.rate_limit_wait_ms": "int(0)",
                        "bidengine.poll.items": "int(\(items))", "bidengine.poll.stored": "int(\(items))",
                        "bidengine.poll.rejected": "int(0)", "bidengine.outcome": #"string("stored")"#,
                        "http.response.status_code": "int(200)",
                    ]
                })
        let missingPages = spans.filter { $0.name == "poll page" && $0.parentSpanID == missingSource.spanID }
        #expect(missingPages.count == 1)
        #expect(missingPages.first?.error == "HTTP 404")
        #expect(
            missingPages.first.map(Self.attributes) == [
                "bidengine.poll.page": "int(1)", "bidengine.poll.skip": "int(0)",
                "server.address": #"string("127.0.0.1")"#,
                "url.full": #"string("http://127.0.0.1:\#(missing.port)/products?limit=10&skip=0")"#,
                "bidengine.poll.requests": "int(1)", "bidengine.poll.rate_limit_wait_ms": "int(0)",
                "bidengine.outcome": #"string("fetch_failed")"#, "http.response.status_code": "int(404)",
            ])
        #expect(spans.count == 1 + 2 + 3 + 1)
    }

    @Test func aPollTheSamplerLeavesOutRecordsNothing() throws {
        let harness = try PollerHarness(database: "poller_spans_off")
        let server = try PollerFakeServer(catalog: PollerFakeServer.products((1...3).map { ($0, "1") }))
        let buffer = SpanBuffer(capacity: 100)
        let unsampled = harness.poller(tracer: Tracer(buffer: buffer) { _, _ in false })
        #expect(
            unsampled.pollAll([try CompetitorSource(parsing: "http://127.0.0.1:\(server.port)")]).map(\.status) == [.ok]
        )
        #expect(buffer.recorded == 0)
    }
}
