import BidCore
public import HTTPServer
public import Logging
public import Postgres
import ServiceSupport

/// `GET /api/competitor-prices` (price history, newest first, keyset-paginated) and
/// `GET /api/competitor-prices/latest?product_id=` (the newest price per source), read through
/// the loop's non-blocking connection: handlers queue a query and return at once.
public struct CompetitorPriceRoutes {
    let connection: any PostgresQuerying
    /// Seconds a client should wait before retrying after a 503.
    let retryAfterSeconds: Int
    let logger: Logger

    public init(
        connection: any PostgresQuerying, retryAfterSeconds: Int = 1,
        logger: Logger = Logger(label: "bidengine.competitor-prices")
    ) {
        self.connection = connection
        self.retryAfterSeconds = retryAfterSeconds
        self.logger = logger
    }

    public func register(into router: inout Router) {
        router.add(.GET, "/api/competitor-prices") { request, responder in self.history(request, responder) }
        router.add(.GET, "/api/competitor-prices/latest") { request, responder in self.latest(request, responder) }
    }

    // MARK: History

    func history(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let query: CompetitorPriceQuery
        switch CompetitorPriceQuery.parse(request.query) {
        case .failure(let invalid):
            responder.respond(invalid.response)
            return
        case .success(let parsed):
            query = parsed
        }
        connection.query(query.sql, query.parameters) { outcome in
            switch outcome {
            case .failure(let error): responder.respond(self.failureResponse(error, request.trace))
            case .success(let result):
                responder.respond(self.page(result.rows, limit: query.limit, trace: request.trace))
            }
        }
    }

    /// `{"prices":[…],"next":"…"|null}` from up to `limit + 1` rows.
    func page(_ rows: [[String?]], limit: Int, trace: TraceContext = .untraced) -> HTTPResponse {
        var writer = JSONWriter(capacity: 64 + 256 * min(rows.count, limit))
        writer.beginObject()
        writer.beginArray("prices")
        var last: StoredCompetitorPrice?
        for row in rows.prefix(limit) {
            guard let price = StoredCompetitorPrice(row: row) else { return unrepresentable(row, trace) }
            price.write(to: &writer)
            last = price
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

    // MARK: Latest per source

    func latest(_ request: HTTPRequest, _ responder: HTTPResponder) {
        guard let text = request.query["product_id"] else {
            responder.respond(InvalidParameter.missing("product_id").response)
            return
        }
        guard let productID = try? FixedDecimal(parsing: text) else {
            responder.respond(InvalidParameter.invalid("product_id", expected: "a number").response)
            return
        }
        connection.query(CompetitorPriceQuery.latestSQL, [productID.description]) { outcome in
            switch outcome {
            case .failure(let error):
                responder.respond(self.failureResponse(error, request.trace))
            case .success(let result):
                var writer = JSONWriter(capacity: 64 + 256 * result.rows.count)
                writer.beginObject()
                writer.member("product_id", productID)
                writer.beginArray("prices")
                for row in result.rows {
                    guard let price = StoredCompetitorPrice(row: row) else {
                        responder.respond(self.unrepresentable(row, request.trace))
                        return
                    }
                    price.write(to: &writer)
                }
                writer.endArray()
                writer.endObject()
                responder.respond(JSONResponse.ok(writer.bytes))
            }
        }
    }

    // MARK: Failures

    /// Connection trouble, deadlines and overload are worth retrying (503); any other query
    /// error is a bug here (500), since every parameter was validated before it was bound.
    func failureResponse(_ error: PostgresError, _ trace: TraceContext) -> HTTPResponse {
        JSONResponse.readFailure(
            error, reading: "competitor prices", retryAfterSeconds: retryAfterSeconds, logger: logger.tracing(trace))
    }

    private func unrepresentable(_ row: [String?], _ trace: TraceContext) -> HTTPResponse {
        logger.tracing(trace).error(
            "competitor price cannot be represented in JSON", metadata: ["row": "\(row.map { $0 ?? "NULL" })"])
        return JSONResponse.error(500, "internal error reading competitor prices")
    }
}
