import BidCore

/// The validated parameters of `GET /api/competitor-prices`, and the statement they bind to.
struct CompetitorPriceQuery: Equatable {
    static let defaultLimit = 100
    static let limits = 1...1000

    /// Nil: every product.
    let productID: FixedDecimal?
    /// Inclusive lower bound on `observed_at`.
    let since: RFC3339Timestamp?
    /// Exclusive upper bound on `observed_at`.
    let until: RFC3339Timestamp?
    let limit: Int
    let after: CompetitorPriceCursor?

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
        var bounds: [String: RFC3339Timestamp] = [:]
        for name in ["since", "until"] {
            guard let text = query[name] else { continue }
            guard let parsed = RFC3339Timestamp(parsing: text) else {
                return .failure(.invalid(name, expected: BidHistoryQuery.timestampExpectation))
            }
            bounds[name] = parsed
        }
        var limit = defaultLimit
        if let text = query["limit"] {
            guard let parsed = Int(text), limits.contains(parsed) else {
                return .failure(
                    .invalid("limit", expected: "an integer from \(limits.lowerBound) to \(limits.upperBound)"))
            }
            limit = parsed
        }
        var after: CompetitorPriceCursor?
        if let text = query["cursor"] {
            guard let parsed = CompetitorPriceCursor(decoding: text) else {
                return .failure(.invalid("cursor", expected: "the 'next' value of a previous page"))
            }
            after = parsed
        }
        return .success(
            CompetitorPriceQuery(
                productID: productID, since: bounds["since"], until: bounds["until"], limit: limit, after: after))
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

    var parameters: [String?] {
        (productID.map { [$0.description] } ?? []) + [
            since?.canonicalText ?? "-infinity",
            until?.canonicalText ?? "infinity",
            after?.observedAt.canonicalText ?? "infinity",
            String(after?.id ?? Int64.max),
            String(limit + 1),
        ]
    }

    /// The newest row of each competitor item mapped to the product (normally one per source).
    static let latestSQL = """
        SELECT DISTINCT ON (source, external_id) \(StoredCompetitorPrice.selectList) FROM competitor_prices
        WHERE product_id = $1::numeric
        ORDER BY source, external_id, observed_at DESC, id DESC
        """
}
