import BidCore
import JSONRoutes

/// The validated parameters of `GET /api/competitor-prices`, and the statement they bind to.
struct CompetitorPriceQuery: Equatable {
    /// Nil: every product.
    let productID: FixedDecimal?
    /// Bounds on `observed_at`, page size and cursor.
    let window: PageWindow

    var limit: Int { window.limit }

    /// Checks every parameter; unknown ones are ignored. The first wrong one, in the order
    /// product_id, since, until, limit, cursor, is reported.
    static func parse(_ query: [String: String]) -> Result<CompetitorPriceQuery, InvalidParameter> {
        var productID: FixedDecimal?
        if let text = query["product_id"] {
            guard let parsed = try? FixedDecimal(parsing: text) else {
                return .failure(.invalid("product_id", expected: "a number"))
            }
            productID = parsed
        }
        return PageWindow.parse(query, listing: .competitorPrices).map {
            CompetitorPriceQuery(productID: productID, window: $0)
        }
    }

    // MARK: Statements

    /// Newest first, one row more than the page to know whether a next page exists. Absent
    /// bounds become infinities so that each statement's shape never changes: a range scan of
    /// `competitor_prices_product_idx` for one product, of `competitor_prices_observed_at_idx` for all.
    static let productSQL = """
        SELECT \(StoredCompetitorPrice.selectList) FROM competitor_prices
        WHERE product_id = $1::numeric AND observed_at >= $2::timestamptz AND observed_at < $3::timestamptz
          AND (observed_at, id) < ($4::timestamptz, $5::bigint)
        ORDER BY observed_at DESC, id DESC
        LIMIT $6::integer
        """

    static let allProductsSQL = """
        SELECT \(StoredCompetitorPrice.selectList) FROM competitor_prices
        WHERE observed_at >= $1::timestamptz AND observed_at < $2::timestamptz
          AND (observed_at, id) < ($3::timestamptz, $4::bigint)
        ORDER BY observed_at DESC, id DESC
        LIMIT $5::integer
        """

    var sql: String { productID == nil ? Self.allProductsSQL : Self.productSQL }

    var parameters: [String?] { (productID.map { [$0.description] } ?? []) + window.parameters }

    /// The newest row of each competitor item mapped to the product (normally one per source).
    static let latestSQL = """
        SELECT DISTINCT ON (source, external_id) \(StoredCompetitorPrice.selectList) FROM competitor_prices
        WHERE product_id = $1::numeric
        ORDER BY source, external_id, observed_at DESC, id DESC
        """
}
