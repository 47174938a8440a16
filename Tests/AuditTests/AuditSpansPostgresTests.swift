import Audit
import Scheduler
import ServiceTestSupport
import Telemetry
import Testing

/// An audit run is one trace: a root span with the run's parameters and results, and a span per
/// step under it, whichever way the flags are found.
@Suite struct AuditSpansPostgresTests {
    static func attributes(_ span: SpanRecord) -> [String: String] {
        Dictionary(uniqueKeysWithValues: span.attributes.map { ($0.0, "\($0.1)") })
    }

    @Test(arguments: [AuditFlagSearch.byPair, .byBid, .streamed])
    func aRunIsOneTraceWithASpanPerStep(search: AuditFlagSearch) throws {
        let database = try AuditTestDatabase("audit_spans_\(search)".lowercased())
        _ = try database.insertBids(AuditTestDatabase.legacyBids)
        let buffer = SpanBuffer(capacity: 100)
        var runner = database.runner()
        runner.flagSearch = search
        runner.tracer = Tracer(buffer: buffer) { _, _ in true }
        let run = try runner.run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf))
        #expect(run.bidsReviewed == 3 && run.bidsFlagged == 2)

        let spans = buffer.drain()
        let found =
            search == .streamed ? ["audit stream flags", "audit read bids"] : ["audit read bids", "audit write flags"]
        #expect(
            spans.map(\.name)
                == ["audit claim run", "audit wait for commits", "audit clear earlier results"] + found + [
                    "audit store summary", "audit",
                ])
        let root = try #require(spans.last)
        #expect(root.parentSpanID == 0 && root.error == nil && root.kind == .internal)
        for span in spans.dropLast() {
            #expect(span.parentSpanID == root.spanID && span.error == nil, "\(span.name)")
            #expect(span.traceIDHigh == root.traceIDHigh && span.traceIDLow == root.traceIDLow)
        }
        var rootAttributes = Self.attributes(root)
        // The planner's estimate of the window's bids: present, but not a fixed number.
        #expect(rootAttributes.removeValue(forKey: "bidengine.audit.estimated_bids")?.hasPrefix("int(") == true)
        let searchName = ["byPair": "by_pair", "byBid": "by_bid", "streamed": "streamed"]["\(search)"] ?? ""
        #expect(
            rootAttributes == [
                "bidengine.audit.as_of": #"string("2026-06-15T02:00:00Z")"#,
                "bidengine.audit.window_seconds": "int(604800)", "bidengine.audit.threshold": #"string("0.20")"#,
                "bidengine.audit.trigger": #"string("manual")"#, "bidengine.audit.run_id": "int(\(run.id))",
                "bidengine.audit.flag_search": #"string("\#(searchName)")"#,
                "bidengine.audit.bids_reviewed": "int(3)", "bidengine.audit.bids_flagged": "int(2)",
                "bidengine.outcome": #"string("succeeded")"#,
            ])
        let byName = Dictionary(uniqueKeysWithValues: spans.map { ($0.name, Self.attributes($0)) })
        #expect(
            byName["audit claim run"] == [
                "bidengine.audit.run_id": "int(\(run.id))", "bidengine.audit.abandoned_runs": "int(0)",
            ])
        #expect(byName["audit wait for commits"] == ["bidengine.audit.read_source": #"string("primary")"#])
        #expect(byName["audit clear earlier results"] == [:])
        #expect(byName["audit read bids"] == ["bidengine.audit.bids_read": "int(3)"])
        if search == .streamed {
            #expect(
                byName["audit stream flags"] == [
                    "bidengine.audit.streams": "int(2)", "bidengine.audit.flags_written": "int(2)",
                ])
        } else {
            #expect(byName["audit write flags"] == ["bidengine.audit.flags_written": "int(2)"])
        }
        #expect(byName["audit store summary"] == [:])
    }

    @Test func aCancelledRunEndsItsTraceFailedAndCancelled() throws {
        let database = try AuditTestDatabase("audit_spans_cancelled")
        _ = try database.insertBids(AuditTestDatabase.legacyBids)
        let buffer = SpanBuffer(capacity: 100)
        var runner = database.runner()
        runner.tracer = Tracer(buffer: buffer) { _, _ in true }
        let cancellation = JobCancellation()
        cancellation.cancel()
        #expect(throws: AuditError.self) {
            try runner.run(AuditParameters(asOf: AuditTestDatabase.legacyAsOf), cancellation: cancellation)
        }
        let spans = buffer.drain()
        let root = try #require(spans.last)
        #expect(root.name == "audit" && root.parentSpanID == 0)
        #expect(root.error == AuditError.cancelled.description)
        #expect(Self.attributes(root)["bidengine.outcome"] == #"string("cancelled")"#)
        #expect(spans.dropLast().allSatisfy { $0.parentSpanID == root.spanID && $0.traceIDLow == root.traceIDLow })
        #expect(spans.first?.name == "audit claim run" && spans.first?.error == nil)
    }
}
