/// Everything the text and HTML reports show about one run, loaded with a bounded number of
/// rows whatever the size of the run: the worst `rowLimit` flags and products, the band counts.
public struct AuditReport: Sendable, Equatable {
    public let run: AuditRunRecord
    /// All 13 bands in chart order (empty when the run has not succeeded).
    public let bands: [AuditBandCount]
    /// Products with the most flags first, at most `rowLimit`.
    public let products: [AuditProductRecord]
    /// How many products have flags in all.
    public let productCount: Int64
    /// The largest differences first, at most `rowLimit`.
    public let worstFlags: [AuditFlagRecord]
    /// Whether `competitor_prices` exists, so the reports can say "unknown" rather than nothing.
    public let competitorPricesAvailable: Bool
    public let rowLimit: Int

    /// Flagged bids not listed because of `rowLimit`.
    public var unlistedFlags: Int64 { max(0, (run.bidsFlagged ?? 0) - Int64(worstFlags.count)) }
    public var unlistedProducts: Int64 { max(0, productCount - Int64(products.count)) }
}
