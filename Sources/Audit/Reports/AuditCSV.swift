import BidCore
import Foundation

/// The CSV export: one line per flagged bid (RFC 4180, `\r\n`-free: plain `\n` lines), with the
/// same exact decimals as the JSON. Empty cells mean unknown (undefined percentage, no competitor price).
enum AuditCSV {
    static let header =
        "run_id,bid_id,product_id,current_cpc,adjusted_cpc,deviation,deviation_pct,allowed_deviation,competitor_price,competitor_observed_at\n"

    static func line(_ flag: AuditFlagRecord, runID: Int64, rule: AuditRule) -> String {
        let cells = [
            String(runID), String(flag.bidID), flag.productID, flag.currentCPC, flag.adjustedCPC, flag.deviation,
            flag.deviationPercent ?? "", flag.allowedDeviation(rule)?.description ?? "", flag.competitor?.price ?? "",
            flag.competitor?.observedAtText ?? "",
        ]
        return cells.map(escape).joined(separator: ",") + "\n"
    }

    /// Quotes a cell only when it needs it (none of the numbers here do; kept for safety).
    static func escape(_ cell: String) -> String {
        guard cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
