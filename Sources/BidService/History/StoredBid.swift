import BidCore
import JSONRoutes
import TextFormats

/// One row of `bids` as the history routes return it. The numeric columns stay PostgreSQL's
/// exact decimal text and are written as JSON numbers verbatim: never through `Double`.
struct StoredBid: KeysetRow {
    static let rowName = "stored bid"
    static let jsonSizeEstimate = 192

    /// The columns every history statement selects, in the order `init(row:)` reads them.
    /// `calculated_at` is formatted by PostgreSQL in UTC, independent of the session's time zone.
    static let selectList = """
        id, product_id, current_cpc, target_roas, adjusted_cpc, \
        to_char(calculated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        """

    let id: Int64
    let productID: String
    let currentCPC: String
    let targetROAS: String
    let adjustedCPC: String
    let calculatedAt: RFC3339Timestamp

    /// Nil when a value cannot be written as the API promises: a `NaN` or `Infinity` numeric, or a
    /// timestamp outside years 0001-9999 (only possible for rows written around this service).
    init?(row: [String?]) {
        guard row.count == 6, let idText = row[0], let id = Int64(idText),
            let productID = row[1], let currentCPC = row[2], let targetROAS = row[3], let adjustedCPC = row[4],
            [productID, currentCPC, targetROAS, adjustedCPC].allSatisfy(JSONNumber.matches),
            let calculatedText = row[5], let calculatedAt = RFC3339Timestamp(parsing: calculatedText)
        else { return nil }
        self.id = id
        self.productID = productID
        self.currentCPC = currentCPC
        self.targetROAS = targetROAS
        self.adjustedCPC = adjustedCPC
        self.calculatedAt = calculatedAt
    }

    var cursor: KeysetCursor { KeysetCursor(listing: .bids, timestamp: calculatedAt, id: id) }

    /// `{"bid_id":…,"product_id":…,"current_cpc":…,"target_roas":…,"adjusted_cpc":…,"calculated_at":"…"}`
    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("bid_id", id)
        writer.rawMember("product_id", productID)
        writer.rawMember("current_cpc", currentCPC)
        writer.rawMember("target_roas", targetROAS)
        writer.rawMember("adjusted_cpc", adjustedCPC)
        writer.member("calculated_at", calculatedAt.canonicalText)
        writer.endObject()
    }
}
