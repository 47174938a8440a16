import BidCore

/// The validated parameters of `GET /api/bids`, and the statement they bind to.
struct BidHistoryQuery: Equatable {
    static let defaultLimit = 100
    static let limits = 1...1000

    let productID: FixedDecimal
    /// Inclusive lower bound on `calculated_at`.
    let since: RFC3339Timestamp?
    /// Exclusive upper bound on `calculated_at`.
    let until: RFC3339Timestamp?
    let limit: Int
    /// Continue after this bid (from the previous page's `next`).
    let after: BidHistoryCursor?

    static let timestampExpectation = "an RFC 3339 timestamp such as 2025-01-31T23:59:59Z, years 0001-9999"

    /// Checks every parameter; unknown ones are ignored. When several are wrong the first in the
    /// order product_id, since, until, limit, cursor is reported.
    static func parse(_ query: [String: String]) -> Result<BidHistoryQuery, InvalidParameter> {
        guard let productText = query["product_id"] else { return .failure(.missing("product_id")) }
        guard let productID = try? FixedDecimal(parsing: productText) else {
            return .failure(.invalid("product_id", expected: "a number"))
        }
        var since: RFC3339Timestamp?
        if let text = query["since"] {
            guard let parsed = RFC3339Timestamp(parsing: text) else {
                return .failure(.invalid("since", expected: timestampExpectation))
            }
            since = parsed
        }
        var until: RFC3339Timestamp?
        if let text = query["until"] {
            guard let parsed = RFC3339Timestamp(parsing: text) else {
                return .failure(.invalid("until", expected: timestampExpectation))
            }
            until = parsed
        }
        var limit = defaultLimit
        if let text = query["limit"] {
            guard let parsed = Int(text), limits.contains(parsed) else {
                return .failure(
                    .invalid("limit", expected: "an integer from \(limits.lowerBound) to \(limits.upperBound)"))
            }
            limit = parsed
        }
        var after: BidHistoryCursor?
        if let text = query["cursor"] {
            guard let parsed = BidHistoryCursor(decoding: text) else {
                return .failure(.invalid("cursor", expected: "the 'next' value of a previous page"))
            }
            after = parsed
        }
        return .success(BidHistoryQuery(productID: productID, since: since, until: until, limit: limit, after: after))
    }

    // MARK: Statement

    /// One statement for every combination of parameters (absent bounds become infinities), so
    /// that its shape never changes: an index range scan on `bids_product_history_idx (product_id,
    /// calculated_at DESC, id DESC)` that stops after `$6` rows, with no sort. One row more than
    /// the page is asked for, to know whether a next page exists without a second query.
    static let sql = """
        SELECT \(StoredBid.selectList) FROM bids
        WHERE product_id = $1::numeric AND calculated_at >= $2::timestamptz AND calculated_at < $3::timestamptz
          AND (calculated_at, id) < ($4::timestamptz, $5::bigint)
        ORDER BY calculated_at DESC, id DESC
        LIMIT $6::integer
        """

    var parameters: [String?] {
        [
            productID.description,
            since?.canonicalText ?? "-infinity",
            until?.canonicalText ?? "infinity",
            after?.calculatedAt.canonicalText ?? "infinity",
            String(after?.id ?? Int64.max),
            String(limit + 1),
        ]
    }
}
