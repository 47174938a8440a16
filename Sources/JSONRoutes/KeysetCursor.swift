public import TextFormats

/// Where the next page of a newest-first listing starts: the (timestamp, id) of the last row
/// returned, which the keyset predicate `(timestamp, id) < (…)` continues after. Many rows can share
/// one timestamp (a poller page is stored in one transaction), so the id is what makes paging exact.
/// Used by the bid history (`calculated_at`) and the competitor prices (`observed_at`).
///
/// On the wire it is base64url (no padding) of `"<listing>|<RFC 3339 timestamp>|<id>"`: opaque to
/// clients, URL-safe without encoding, and checked field by field when it comes back, so a forged
/// or truncated cursor is a 400 rather than a query error. The listing binds it to the endpoint
/// that issued it: ids of bids and of competitor prices are different sequences, so a cursor taken
/// to the other endpoint would silently skip or repeat rows; it gets a 400 instead. It carries no
/// filter; clients send the same filters with it.
public struct KeysetCursor: Equatable, Sendable {
    /// The listing a cursor belongs to (its tag on the wire).
    public enum Listing: String, Sendable {
        case bids
        case competitorPrices = "competitor-prices"
    }

    public let listing: Listing
    public let timestamp: RFC3339Timestamp
    public let id: Int64

    public var encoded: String {
        Base64URL.encode(Array("\(listing.rawValue)|\(timestamp.canonicalText)|\(id)".utf8))
    }

    public init(listing: Listing, timestamp: RFC3339Timestamp, id: Int64) {
        self.listing = listing
        self.timestamp = timestamp
        self.id = id
    }

    /// Nil unless `text` decodes to `listing`'s tag, a timestamp and a positive id.
    public init?(decoding text: String, for listing: Listing) {
        guard let bytes = Base64URL.decode(text) else { return nil }
        let parts = bytes.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].elementsEqual(listing.rawValue.utf8),
            let timestamp = RFC3339Timestamp(parsing: String(decoding: parts[1], as: UTF8.self)),
            let id = Int64(String(decoding: parts[2], as: UTF8.self)), id > 0
        else { return nil }
        self.init(listing: listing, timestamp: timestamp, id: id)
    }

}
