import BidCore
public import HTTPServer
public import JSONRoutes
import Postgres

/// `GET /api/bids/{id}` (one bid) and `GET /api/bids?product_id=…` (one product's bids, newest
/// first, in keyset-paginated pages), read through this loop's non-blocking connection.
///
/// Reads share the connection's queue with the bid writer's inserts; a page is at most
/// `PageWindow.limits.upperBound` rows, so one read never holds the queue for long.
public struct BidHistoryRoutes: DatabaseReadRoutes {
    public static let subject = "bids"
    public static let defaultLoggerLabel = "bidengine.history"
    let reads: DatabaseReads

    public init(reads: DatabaseReads) {
        self.reads = reads
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
        reads.connection.query(Self.bidSQL, [String(id)]) { outcome in
            switch outcome {
            case .failure(let error):
                responder.respond(self.reads.failureResponse(error, request.trace))
            case .success(let result):
                guard let row = result.rows.first else {
                    responder.respond(JSONResponse.error(404, "bid not found"))
                    return
                }
                guard let bid = StoredBid(row: row) else {
                    responder.respond(self.reads.unrepresentable(row, as: StoredBid.rowName, request.trace))
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
        reads.connection.query(BidHistoryQuery.sql, query.parameters) { outcome in
            switch outcome {
            case .failure(let error):
                responder.respond(self.reads.failureResponse(error, request.trace))
            case .success(let result):
                responder.respond(
                    self.reads.page(
                        of: StoredBid.self, result.rows, limit: query.limit, member: "bids", trace: request.trace))
            }
        }
    }
}
