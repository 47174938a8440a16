import BidCore
import JSONRoutes

/// The validated parameters of `GET /api/bids`, and the statement they bind to.
struct BidHistoryQuery: Equatable {
    let productID: FixedDecimal
    /// Bounds on `calculated_at`, page size and cursor.
    let window: PageWindow

    var limit: Int { window.limit }

    /// Checks every parameter; unknown ones are ignored. When several are wrong the first in the
    /// order product_id, since, until, limit, cursor is reported.
    static func parse(_ query: [String: String]) -> Result<BidHistoryQuery, InvalidParameter> {
        guard let productText = query["product_id"] else { return .failure(.missing("product_id")) }
        guard let productID = try? FixedDecimal(parsing: productText) else {
            return .failure(.invalid("product_id", expected: "a number"))
        }
        return PageWindow.parse(query, listing: .bids).map { BidHistoryQuery(productID: productID, window: $0) }
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

    var parameters: [String?] { [productID.description] + window.parameters }
}
