import TextFormats

/// One product's flags in a run (`audit_products`): how many, and the worst of them.
public struct AuditProductRecord: Sendable, Equatable {
    public let productID: String
    public let flags: Int64
    /// The flagged bid with the largest absolute difference (ties: lowest id).
    public let worstBidID: Int64
    public let worstDeviation: String
    public let worstDeviationPercent: String?
    public let competitor: CompetitorPrice?

    static func columns(competitor: Bool) -> String {
        "p.product_id, p.flags, p.worst_bid_id, p.worst_deviation, p.worst_deviation_pct, "
            + (competitor ? "cp.price, \(AuditTime.microsecondsSQL("cp.observed_at"))" : "NULL, NULL")
    }

    init?(row: [String?]) {
        guard row.count >= 7, let productID = row[0], let flags = row[1].flatMap({ Int64($0) }),
            let worstBidID = row[2].flatMap({ Int64($0) }), let worstDeviation = row[3]
        else { return nil }
        self.productID = productID
        self.flags = flags
        self.worstBidID = worstBidID
        self.worstDeviation = worstDeviation
        worstDeviationPercent = row[4]
        competitor = CompetitorPrice(price: row[5], observedAt: row[6])
    }
}
