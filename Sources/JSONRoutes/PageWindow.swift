public import TextFormats

/// The paging parameters shared by the newest-first listings (`GET /api/bids`,
/// `GET /api/competitor-prices`): a time range, a page size and where to continue.
public struct PageWindow: Equatable, Sendable {
    public static let defaultLimit = 100
    public static let limits = 1...1000
    public static let timestampExpectation = "an RFC 3339 timestamp such as 2025-01-31T23:59:59Z, years 0001-9999"

    /// Inclusive lower bound on the listing's timestamp.
    public let since: RFC3339Timestamp?
    /// Exclusive upper bound on the listing's timestamp.
    public let until: RFC3339Timestamp?
    public let limit: Int
    /// Continue after this row (from the previous page's `next`).
    public let after: KeysetCursor?

    /// Checks `since`, `until`, `limit` and `cursor` (which must come from `listing`) in that order
    /// and reports the first wrong one.
    public static func parse(_ query: [String: String], listing: KeysetCursor.Listing) -> Result<
        PageWindow, InvalidParameter
    > {
        var bounds: [String: RFC3339Timestamp] = [:]
        for name in ["since", "until"] {
            guard let text = query[name] else { continue }
            guard let parsed = RFC3339Timestamp(parsing: text) else {
                return .failure(.invalid(name, expected: timestampExpectation))
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
        var after: KeysetCursor?
        if let text = query["cursor"] {
            guard let parsed = KeysetCursor(decoding: text, for: listing) else {
                return .failure(.invalid("cursor", expected: "the 'next' value of a previous page"))
            }
            after = parsed
        }
        return .success(PageWindow(since: bounds["since"], until: bounds["until"], limit: limit, after: after))
    }

    /// Bound in this order after any filter parameters: since, until, the cursor's timestamp and
    /// id, and one row more than the page (to know whether a next page exists without a second
    /// query). Absent bounds become infinities, so a statement's shape never changes.
    public var parameters: [String?] {
        [
            since?.canonicalText ?? "-infinity",
            until?.canonicalText ?? "infinity",
            after?.timestamp.canonicalText ?? "infinity",
            String(after?.id ?? Int64.max),
            String(limit + 1),
        ]
    }
}
