import BidCore
import TextFormats

/// One flagged bid of a run (read from `bids` at the run's flagged pairs, or from `audit_flags`
/// for runs stored per bid). Numbers stay PostgreSQL's exact `numeric` text.
public struct AuditFlagRecord: Sendable, Equatable {
    public let bidID: Int64
    public let productID: String
    public let currentCPC: String
    public let adjustedCPC: String
    /// `adjusted − current`, signed.
    public let deviation: String
    /// Percent of the current CPC, 2 places; nil when the current CPC is 0.
    public let deviationPercent: String?
    public let competitor: CompetitorPrice?

    /// The columns `init(row:)` reads, for a query over flags `f` (`AuditSQL.FlagSource`) that may join
    /// competitor prices as `cp` (or select two NULLs instead).
    static func columns(competitor: Bool) -> String {
        "f.bid_id, f.product_id, f.current_cpc, f.adjusted_cpc, f.deviation, f.deviation_pct, "
            + (competitor ? "cp.price, \(AuditTime.microsecondsSQL("cp.observed_at"))" : "NULL, NULL")
    }

    init?(row: [String?]) {
        guard row.count == 8, let bidID = row[0].flatMap({ Int64($0) }),
            let productID = row[1], let currentCPC = row[2], let adjustedCPC = row[3], let deviation = row[4]
        else { return nil }
        self.bidID = bidID
        self.productID = productID
        self.currentCPC = currentCPC
        self.adjustedCPC = adjustedCPC
        self.deviation = deviation
        deviationPercent = row[5]
        competitor = CompetitorPrice(price: row[6], observedAt: row[7])
    }

    /// `threshold × current`, the largest difference the rule accepts, at the scale of the money it
    /// is compared with (`deviation`'s: the larger of the two CPCs' scales), rounded half away from
    /// zero, so reports print 0.40 next to a deviation of 1.30 rather than 0.4000. The verdict
    /// itself was taken on exact values (`AuditRule`); nil when unreadable.
    func allowedDeviation(_ rule: AuditRule) -> FixedDecimal? {
        guard let current = try? FixedDecimal(parsing: currentCPC),
            let exact = rule.allowedDeviation(currentCPC: current)
        else { return nil }
        let places = max(current.scale, (try? FixedDecimal(parsing: adjustedCPC))?.scale ?? 0)
        return (try? exact.rounded(places: places)) ?? exact
    }
}
