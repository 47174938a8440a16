import HTTPServer
import Telemetry

/// The spans of the API's write path, recorded into the exporter's buffer on the loop thread:
/// the request (a server span), its wait in the write queue, and the statement that carried it.
///
/// Recording builds one `SpanRecord` and appends it under the buffer's lock; only sampled
/// requests are recorded, so with tracing off nothing here runs.
struct WritePathSpans: Sendable {
    let buffer: SpanBuffer

    /// The request's own span: from its arrival to its reply.
    func recordRequest(_ exchange: HTTPExchange) {
        let trace = exchange.trace
        guard trace.isSampled else { return }
        let end = WallClock.now()
        let nanoseconds = exchange.duration.nanoseconds
        var attributes: [(String, SpanAttribute)] = [
            ("http.request.method", .string(exchange.method.rawValue)),
            ("url.path", .string(exchange.path)),
            ("http.response.status_code", .int(Int64(exchange.status))),
            ("bidengine.request_id", .string(exchange.requestID)),
        ]
        if let route = exchange.route { attributes.append(("http.route", .string(route))) }
        for (key, value) in exchange.logFields { attributes.append(("bidengine.\(key)", .string(value))) }
        buffer.record(
            SpanRecord(
                traceIDHigh: trace.traceIDHigh, traceIDLow: trace.traceIDLow, spanID: trace.spanID,
                parentSpanID: trace.parentSpanID, name: "\(exchange.method.rawValue) \(exchange.route ?? "unmatched")",
                kind: .server, start: end &- UInt64(max(0, nanoseconds)), end: end, attributes: attributes,
                error: exchange.status >= 500 ? "HTTP \(exchange.status)" : nil, traceState: trace.traceState))
    }

    /// The request's wait in the loop's write queue, linked to the statement that then carried it.
    func recordQueue(
        trace: TraceContext, timing: WriteTiming, bids: Int, loop: String, outcome: String
    ) {
        guard trace.isSampled else { return }
        let now = ContinuousClock.now
        let wallNow = WallClock.now()
        var links: [SpanRecord.Link] = []
        if let statement = timing.statement {
            links.append(
                SpanRecord.Link(
                    traceIDHigh: statement.traceIDHigh, traceIDLow: statement.traceIDLow, spanID: statement.spanID))
        }
        buffer.record(
            SpanRecord(
                traceIDHigh: trace.traceIDHigh, traceIDLow: trace.traceIDLow, spanID: SpanIdentifiers.nonZero(),
                parentSpanID: trace.spanID, name: "bid write queue", kind: .internal,
                start: WallClock.nanoseconds(of: timing.enqueued, now: now, wallNow: wallNow),
                end: WallClock.nanoseconds(of: timing.sent ?? timing.finished, now: now, wallNow: wallNow),
                attributes: [
                    ("bidengine.loop", .string(loop)), ("bidengine.bids", .int(Int64(bids))),
                    ("bidengine.outcome", .string(outcome)), ("bidengine.sent", .bool(timing.sent != nil)),
                ],
                links: links, traceState: trace.traceState))
    }

    /// The statement: one span, in the trace of the first sampled request it carried, linked to
    /// the other sampled requests.
    func recordStatement(_ statement: TracedStatement, timing: WriteTiming, rows: Int, succeeded: Bool, loop: String) {
        let now = ContinuousClock.now
        let wallNow = WallClock.now()
        let links = statement.requests.dropFirst().map { request in
            SpanRecord.Link(traceIDHigh: request.traceIDHigh, traceIDLow: request.traceIDLow, spanID: request.spanID)
        }
        buffer.record(
            SpanRecord(
                traceIDHigh: statement.traceIDHigh, traceIDLow: statement.traceIDLow, spanID: statement.spanID,
                parentSpanID: statement.parentSpanID, name: "INSERT bids", kind: .client,
                start: WallClock.nanoseconds(of: timing.sent ?? timing.enqueued, now: now, wallNow: wallNow),
                end: WallClock.nanoseconds(of: timing.finished, now: now, wallNow: wallNow),
                attributes: [
                    ("db.system.name", .string("postgresql")), ("db.operation.name", .string("INSERT")),
                    ("db.collection.name", .string("bids")), ("bidengine.batch.bids", .int(Int64(statement.bids))),
                    ("bidengine.batch.groups", .int(Int64(statement.groups))),
                    ("db.response.returned_rows", .int(Int64(rows))), ("bidengine.loop", .string(loop)),
                    ("bidengine.outcome", .string(succeeded ? "committed" : "failed")),
                ],
                links: Array(links), error: succeeded ? nil : "statement failed",
                traceState: statement.requests.first?.traceState))
    }
}
