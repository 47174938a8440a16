import Testing

@testable import Telemetry

/// Traces of blocking work: roots, children, the caller's context, sampling, and failures.
struct TracerTests {
    struct Failure: Error, CustomStringConvertible {
        var description: String { "disk on fire" }
    }

    @Test func aRootAndItsChildrenShareTheTraceAndNameTheirParents() throws {
        let buffer = SpanBuffer(capacity: 10)
        let tracer = Tracer(buffer: buffer) { _, _ in true }
        var root = tracer.startTrace("run", attributes: [("a", .int(1))])
        var child = root.child("step", kind: .client)
        child.set("rows", 5)
        child.set("rows", 6)
        child.end()
        #expect(throws: Failure.self) { try root.withChild("failing step") { _ in throw Failure() } }
        root.set("done", true)
        root.end()

        let spans = buffer.drain()
        #expect(spans.map(\.name) == ["step", "failing step", "run"])
        let (step, failing, run) = (spans[0], spans[1], spans[2])
        #expect(run.parentSpanID == 0 && run.spanID != 0 && run.kind == .internal)
        #expect(step.parentSpanID == run.spanID && failing.parentSpanID == run.spanID)
        #expect(step.spanID != run.spanID && failing.spanID != step.spanID)
        #expect(Set(spans.map(\.traceIDHigh)).count == 1 && Set(spans.map(\.traceIDLow)).count == 1)
        #expect(step.kind == .client)
        #expect(step.attributes.map(\.0) == ["rows"] && step.attributes.map(\.1) == [.int(6)])
        #expect(run.attributes.map(\.0) == ["a", "done"] && run.attributes.map(\.1) == [.int(1), .bool(true)])
        #expect(failing.error == "disk on fire" && step.error == nil && run.error == nil)
        #expect(run.start <= step.start && step.end <= run.end)
    }

    @Test func aCallersContextMakesTheRootItsChild() {
        let buffer = SpanBuffer(capacity: 10)
        let parent = Tracer.Parent(
            traceIDHigh: 0x4bf9_2f35_77b3_4da6, traceIDLow: 0xa3ce_929d_0e0e_4736, spanID: 0x00f0_67aa_0ba9_02b7,
            isSampled: true)
        let asked = SpanBuffer(capacity: 1)
        let tracer = Tracer(buffer: buffer, parent: parent) { traceIDLow, parentSampled in
            asked.record(
                SpanRecord(
                    traceIDHigh: 0, traceIDLow: traceIDLow, spanID: parentSampled == true ? 1 : 2, parentSpanID: 0,
                    name: "asked", kind: .internal, start: 0, end: 0))
            return parentSampled ?? false
        }
        tracer.startTrace("run").end()
        let spans = buffer.drain()
        #expect(spans.count == 1)
        #expect(spans.first?.traceIDHigh == 0x4bf9_2f35_77b3_4da6 && spans.first?.traceIDLow == 0xa3ce_929d_0e0e_4736)
        #expect(spans.first?.parentSpanID == 0x00f0_67aa_0ba9_02b7)
        // The sampler was asked once, with the trace id and the caller's flag.
        #expect(asked.drain().map { [$0.traceIDLow, $0.spanID] } == [[0xa3ce_929d_0e0e_4736, 1]])
    }

    @Test func anUnsampledTraceAndTracingOffRecordNothing() {
        let buffer = SpanBuffer(capacity: 10)
        let unsampled = Tracer(buffer: buffer) { _, _ in false }.startTrace("run", attributes: [("a", .int(1))])
        var child = unsampled.child("step")
        child.set("rows", 1)
        child.end()
        unsampled.end()
        #expect(!unsampled.isRecording && !child.isRecording)
        #expect(child.attributes.isEmpty && unsampled.attributes.isEmpty)
        #expect(buffer.recorded == 0 && buffer.dropped == 0)

        let off = Tracer.off.startTrace("run")
        off.child("step").end()
        off.end()
        #expect(!off.isRecording && off.spanID == 0 && Tracer.off.buffer == nil)
    }
}
