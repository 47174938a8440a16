import HTTPServer
import Telemetry
import Testing

@testable import BidService

/// The write path's spans: one statement span shared by the sampled requests it carried.
struct WritePathSpansTests {
    static func trace(_ id: UInt64, sampled: Bool) -> TraceContext {
        TraceContext(traceIDHigh: id, traceIDLow: id, spanID: 100 + id, isSampled: sampled, traceState: "t=\(id)")
    }

    @Test func aStatementWithoutASampledRequestHasNoSpan() {
        #expect(TracedStatement.make(traces: [Self.trace(1, sampled: false)], bids: 1, groups: 1) == nil)
    }

    @Test func theStatementSpanIsAChildOfTheFirstSampledRequestAndLinksTheOthers() throws {
        let traces = [Self.trace(1, sampled: false), Self.trace(2, sampled: true), Self.trace(3, sampled: true)]
        let statement = try #require(TracedStatement.make(traces: traces, bids: 7, groups: 3))
        #expect(statement.traceIDHigh == 2 && statement.traceIDLow == 2)
        #expect(statement.parentSpanID == 102)
        #expect(statement.spanID != 0)
        #expect(statement.requests.map(\.spanID) == [102, 103])

        let buffer = SpanBuffer(capacity: 10)
        let spans = WritePathSpans(buffer: buffer)
        let finished = ContinuousClock.now
        let timing = WriteTiming(
            enqueued: finished - .milliseconds(3), sent: finished - .milliseconds(2), finished: finished,
            statement: statement)
        spans.recordStatement(statement, timing: timing, rows: 7, succeeded: true, loop: "loop-0")
        spans.recordQueue(trace: traces[2], timing: timing, bids: 1, loop: "loop-0", outcome: "stored")
        spans.recordQueue(trace: traces[0], timing: timing, bids: 1, loop: "loop-0", outcome: "stored")
        let recorded = buffer.drain()
        #expect(recorded.count == 2)  // the unsampled request records nothing

        let statementSpan = recorded[0]
        #expect(statementSpan.name == "INSERT bids")
        #expect(statementSpan.kind == .client)
        #expect(statementSpan.parentSpanID == 102)
        #expect(statementSpan.links == [SpanRecord.Link(traceIDHigh: 3, traceIDLow: 3, spanID: 103)])
        #expect(statementSpan.end - statementSpan.start == 2_000_000)
        let attributes = Dictionary(uniqueKeysWithValues: statementSpan.attributes)
        #expect(attributes["bidengine.batch.bids"] == .int(7))
        #expect(attributes["bidengine.batch.groups"] == .int(3))
        #expect(attributes["db.response.returned_rows"] == .int(7))
        #expect(attributes["bidengine.loop"] == .string("loop-0"))
        #expect(attributes["bidengine.outcome"] == .string("committed"))

        let queueSpan = recorded[1]
        #expect(queueSpan.traceIDHigh == 3)
        #expect(queueSpan.parentSpanID == 103)
        #expect(queueSpan.end - queueSpan.start == 1_000_000)
        #expect(queueSpan.links == [SpanRecord.Link(traceIDHigh: 2, traceIDLow: 2, spanID: statement.spanID)])
        #expect(queueSpan.traceState == "t=3")
    }
}
