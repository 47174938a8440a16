/// Where the next page of competitor prices starts: the (observed_at, id) of the last row shown,
/// continued after with the keyset predicate `(observed_at, id) < (…)`. Many rows share one
/// `observed_at` (a page is stored in one transaction), so the id is what makes paging exact.
///
/// On the wire: base64url (no padding) of `"<RFC 3339 timestamp>|<id>"`, checked field by field
/// when it comes back, so a forged or truncated cursor is a 400 rather than a query error.
struct CompetitorPriceCursor: Equatable {
    let observedAt: RFC3339Timestamp
    let id: Int64

    var encoded: String {
        Base64URL.encode(Array("\(observedAt.canonicalText)|\(id)".utf8))
    }

    init(observedAt: RFC3339Timestamp, id: Int64) {
        self.observedAt = observedAt
        self.id = id
    }

    init?(decoding text: String) {
        guard let bytes = Base64URL.decode(text) else { return nil }
        let parts = bytes.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
        guard parts.count == 2,
            let observedAt = RFC3339Timestamp(parsing: String(decoding: parts[0], as: UTF8.self)),
            let id = Int64(String(decoding: parts[1], as: UTF8.self)), id > 0
        else { return nil }
        self.init(observedAt: observedAt, id: id)
    }
}
