/// Where the next page of one product's history starts: the (calculated_at, id) of the last bid
/// returned, which the keyset predicate `(calculated_at, id) < (…)` continues after.
///
/// On the wire it is base64url (no padding) of `"<RFC 3339 timestamp>|<id>"`: opaque to clients,
/// URL-safe without encoding, and checked field by field when it comes back, so a forged or
/// truncated cursor is a 400 rather than a query error. It carries no filter; clients send the
/// same `product_id`, `since` and `until` with it.
struct BidHistoryCursor: Equatable {
    let calculatedAt: RFC3339Timestamp
    let id: Int64

    var encoded: String {
        Base64URL.encode(Array("\(calculatedAt.canonicalText)|\(id)".utf8))
    }

    init(calculatedAt: RFC3339Timestamp, id: Int64) {
        self.calculatedAt = calculatedAt
        self.id = id
    }

    /// Nil unless `text` decodes to a timestamp and an id.
    init?(decoding text: String) {
        guard let bytes = Base64URL.decode(text) else { return nil }
        let parts = bytes.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
        guard parts.count == 2,
            let calculatedAt = RFC3339Timestamp(parsing: String(decoding: parts[0], as: UTF8.self)),
            let id = Int64(String(decoding: parts[1], as: UTF8.self)), id > 0
        else { return nil }
        self.init(calculatedAt: calculatedAt, id: id)
    }
}
