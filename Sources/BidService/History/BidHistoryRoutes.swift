import BidCore
public import HTTPServer
public import Logging
public import Postgres
import ServiceSupport

/// `GET /api/bids/{id}` (one bid) and `GET /api/bids?product_id=…` (one product's bids, newest
/// first, in keyset-paginated pages), read through this loop's non-blocking connection.
///
/// Reads share the connection's queue with the bid writer's inserts; a page is at most
/// `PageWindow.limits.upperBound` rows, so one read never holds the queue for long.
public struct BidHistoryRoutes {
    let connection: any PostgresQuerying
    /// Seconds a client should wait before retrying after a 503.
    let retryAfterSeconds: Int
    let logger: Logger

    public init(
        connection: any PostgresQuerying, retryAfterSeconds: Int = 1,
        logger: Logger = Logger(label: "bidengine.history")
    ) {
        self.connection = connection
        self.retryAfterSeconds = retryAfterSeconds
        self.logger = logger
    }

    public func register(into router: inout Router) {
        router.add(.GET, "/api/bids/{id}") { request, responder in self.fetchBid(request, responder) }
        router.add(.GET, "/api/bids") { request, responder in self.listBids(request, responder) }
    }

    // MARK: One bid

    static let bidSQL = "SELECT \(StoredBid.selectList) FROM bids WHERE id = $1::bigint"

    func fetchBid(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let text = request.pathParameters["id"], let id = Int64(text) else {
            responder.respond(InvalidParameter.invalid("id", expected: "an integer bid id (64-bit)").response)
            return
        }
        connection.query(Self.bidSQL, [String(id)]) { outcome in
            switch outcome {
            case .failure(let error):
                responder.respond(self.failureResponse(error, request.trace))
            case .success(let result):
                guard let row = result.rows.first else {
                    responder.respond(JSONResponse.error(404, "bid not found"))
                    return
                }
                guard let bid = StoredBid(row: row) else {
                    responder.respond(self.unrepresentable(row, request.trace))
                    return
                }
                var writer = JSONWriter(capacity: 192)
                bid.write(to: &writer)
                responder.respond(JSONResponse.ok(writer.bytes))
            }
        }
    }

    // MARK: One product's history

    func listBids(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let query: BidHistoryQuery
        switch BidHistoryQuery.parse(request.query) {
        case .failure(let invalid):
            responder.respond(invalid.response)
            return
        case .success(let parsed):
            query = parsed
        }
        connection.query(BidHistoryQuery.sql, query.parameters) { outcome in
            switch outcome {
            case .failure(let error):
                responder.respond(self.failureResponse(error, request.trace))
            case .success(let result):
                responder.respond(self.page(result.rows, limit: query.limit, trace: request.trace))
            }
        }
    }

    /// `{"bids":[…],"next":"…"|null}` from up to `limit + 1` rows: the extra row only says that a
    /// next page exists; the cursor points at the last row shown.
    func page(_ rows: [[String?]], limit: Int, trace: TraceContext = .untraced) -> HTTPResponse {
        var writer = JSONWriter(capacity: 64 + 192 * min(rows.count, limit))
        writer.beginObject()
        writer.beginArray("bids")
        var last: StoredBid?
        for row in rows.prefix(limit) {
            guard let bid = StoredBid(row: row) else { return unrepresentable(row, trace) }
            bid.write(to: &writer)
            last = bid
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

    // MARK: Failures

    /// Connection trouble, deadlines and server-side overload are worth retrying (503); any other
    /// query error is a bug here (500), since every parameter was validated before it was bound.
    func failureResponse(_ error: PostgresError, _ trace: TraceContext) -> HTTPResponse {
        JSONResponse.readFailure(
            error, reading: "bids", retryAfterSeconds: retryAfterSeconds, logger: logger.tracing(trace))
    }

    private func unrepresentable(_ row: [String?], _ trace: TraceContext) -> HTTPResponse {
        logger.tracing(trace).error(
            "stored bid cannot be represented in JSON", metadata: ["row": "\(row.map { $0 ?? "NULL" })"])
        return JSONResponse.error(500, "internal error reading bids")
    }
}
