import BidCore
public import HTTPServer
public import JSONRoutes
import Postgres

/// `GET /api/competitor-prices` (price history, newest first, keyset-paginated) and
/// `GET /api/competitor-prices/latest?product_id=` (the newest price per source), read through
/// the loop's non-blocking connection: handlers queue a query and return at once.
public struct CompetitorPriceRoutes: DatabaseReadRoutes {
    public static let subject = "competitor prices"
    public static let defaultLoggerLabel = "bidengine.competitor-prices"
    let reads: DatabaseReads

    public init(reads: DatabaseReads) {
        self.reads = reads
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
        reads.connection.query(query.sql, query.parameters) { outcome in
            switch outcome {
            case .failure(let error): responder.respond(self.reads.failureResponse(error, request.trace))
            case .success(let result):
                responder.respond(
                    self.reads.page(
                        of: StoredCompetitorPrice.self, result.rows, limit: query.limit, member: "prices",
                        trace: request.trace))
            }
        }
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
        reads.connection.query(CompetitorPriceQuery.latestSQL, [productID.description]) { outcome in
            switch outcome {
            case .failure(let error):
                responder.respond(self.reads.failureResponse(error, request.trace))
            case .success(let result):
                var writer = JSONWriter(capacity: 64 + 256 * result.rows.count)
                writer.beginObject()
                writer.member("product_id", productID)
                writer.beginArray("prices")
                for row in result.rows {
                    guard let price = StoredCompetitorPrice(row: row) else {
                        responder.respond(
                            self.reads.unrepresentable(row, as: StoredCompetitorPrice.rowName, request.trace))
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
}
