import BidCore
public import HTTPServer
public import Logging
public import Postgres

/// What a read-only JSON route answers from: the loop's non-blocking connection (a handler queues
/// a query and returns at once), the wait a client is told after a 503, and the logs for reads
/// that cannot be answered; with the two failure replies every such route gives.
public struct DatabaseReads {
    public let connection: any PostgresQuerying
    /// Seconds a client should wait before retrying after a 503.
    public let retryAfterSeconds: Int
    public let logger: Logger
    /// The loop's rate-limited log of database failures, shared with its write path; without
    /// one (a route built alone), failed reads go to `logger` unlimited.
    public let failures: DatabaseFailureLog?
    /// What the routes read, as their 500 replies name it ("bids", "competitor prices").
    public let subject: String

    public init(
        connection: any PostgresQuerying, retryAfterSeconds: Int, logger: Logger, failures: DatabaseFailureLog? = nil,
        subject: String
    ) {
        self.connection = connection
        self.retryAfterSeconds = retryAfterSeconds
        self.logger = logger
        self.failures = failures
        self.subject = subject
    }

    /// Connection trouble, deadlines and overload are worth retrying (503); any other query
    /// error is a bug here (500), since every parameter was validated before it was bound, and
    /// is logged with its cause.
    public func failureResponse(_ error: PostgresError, _ trace: TraceContext) -> HTTPResponse {
        if !error.isTransient, let failures {
            failures.readFailed(error, reading: subject, request: trace.logMetadata)
            return JSONResponse.error(500, JSONResponse.readFailureMessage(reading: subject))
        }
        return JSONResponse.readFailure(
            error, reading: subject, retryAfterSeconds: retryAfterSeconds, logger: logger.tracing(trace))
    }

    /// A stored row that cannot be written as JSON (`what` names it in the log): a 500, logged
    /// with the row.
    public func unrepresentable(_ row: [String?], as what: String, _ trace: TraceContext) -> HTTPResponse {
        logger.tracing(trace).error(
            "\(what) cannot be represented in JSON", metadata: ["row": "\(row.map { $0 ?? "NULL" })"])
        return JSONResponse.error(500, JSONResponse.readFailureMessage(reading: subject))
    }

    /// `{"<member>":[…],"next":"…"|null}` from up to `limit + 1` rows: the extra row only says that
    /// a next page exists; the cursor points at the last row shown.
    public func page<Row: KeysetRow>(
        of _: Row.Type, _ rows: [[String?]], limit: Int, member: String, trace: TraceContext
    ) -> HTTPResponse {
        var writer = JSONWriter(capacity: 64 + Row.jsonSizeEstimate * min(rows.count, limit))
        writer.beginObject()
        writer.beginArray(member)
        var last: Row?
        for row in rows.prefix(limit) {
            guard let item = Row(row: row) else { return unrepresentable(row, as: Row.rowName, trace) }
            item.write(to: &writer)
            last = item
        }
        writer.endArray()
        if rows.count > limit, let last {
            writer.member("next", last.cursor.encoded)
        } else {
            writer.nullMember("next")
        }
        writer.endObject()
        return JSONResponse.ok(writer.bytes)
    }
}
