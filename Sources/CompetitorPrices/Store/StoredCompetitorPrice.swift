import BidCore
import JSONRoutes
import TextFormats

/// One row of `competitor_prices` as the API returns it: `numeric` columns stay PostgreSQL's
/// exact decimal text and are written as JSON numbers verbatim, never through `Double`.
struct StoredCompetitorPrice: KeysetRow {
    static let rowName = "competitor price"
    static let jsonSizeEstimate = 256

    /// The columns every statement selects, in the order `init(row:)` reads them; `observed_at`
    /// formatted by PostgreSQL in UTC, independent of the session's time zone.
    static let selectList = """
        id, source, external_id, product_id, title, brand, category, price, \
        to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
        """

    let id: Int64
    let source: String
    let externalID: String
    /// Nil for an unmapped item whose id is not an integer.
    let productID: String?
    let title: String
    let brand: String?
    let category: String?
    let price: String
    let observedAt: RFC3339Timestamp

    /// Nil when a value cannot be written as the API promises (a NaN numeric, a year past 9999).
    init?(row: [String?]) {
        guard row.count == 9, let id = row[0].flatMap({ Int64($0) }), let source = row[1], let externalID = row[2],
            row[3].map(JSONNumber.matches) ?? true, let title = row[4], let price = row[7],
            JSONNumber.matches(price),
            let observedAt = row[8].flatMap({ RFC3339Timestamp(parsing: $0) })
        else { return nil }
        self.id = id
        self.source = source
        self.externalID = externalID
        self.productID = row[3]
        self.title = title
        self.brand = row[5]
        self.category = row[6]
        self.price = price
        self.observedAt = observedAt
    }

    var cursor: KeysetCursor { KeysetCursor(listing: .competitorPrices, timestamp: observedAt, id: id) }

    func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("id", id)
        writer.member("source", source)
        writer.member("external_id", externalID)
        if let productID { writer.rawMember("product_id", productID) } else { writer.nullMember("product_id") }
        writer.member("title", title)
        if let brand { writer.member("brand", brand) } else { writer.nullMember("brand") }
        if let category { writer.member("category", category) } else { writer.nullMember("category") }
        writer.rawMember("price", price)
        writer.member("observed_at", observedAt.canonicalText)
        writer.endObject()
    }
}
