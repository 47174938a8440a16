/// One of the report's two tables (flagged bids, products) as text cells, built once for both
/// the text and the HTML report so that they always show the same columns and values.
struct AuditReportTable {
    let header: [String]
    /// Numeric columns, right-aligned in text.
    let rightAligned: [Bool]
    /// Columns that show how far a bid moved, highlighted in HTML.
    let highlighted: Set<Int>
    let rows: [[String]]

    /// Shown where a competitor price is unknown.
    static let unknown = "-"

    /// The worst flags: bid, product, CPCs, difference, deviation, threshold (+ competitor price).
    static func flags(_ report: AuditReport) -> AuditReportTable {
        let rule = report.run.rule
        let competitor = report.competitorPricesAvailable
        let rows = report.worstFlags.map { flag -> [String] in
            let row = [
                String(flag.bidID), flag.productID, flag.currentCPC, flag.adjustedCPC,
                AuditFormatting.signed(flag.deviation),
                AuditFormatting.percent(flag.deviationPercent),
                flag.allowedDeviation(rule).map(AuditFormatting.money) ?? "n/a",
            ]
            return competitor ? row + competitorCells(flag.competitor) : row
        }
        let header = ["Bid", "Product", "Current CPC", "Adjusted CPC", "Difference", "Deviation", "Threshold"]
        return AuditReportTable(header: header, competitor: competitor, highlighted: [4, 5], rows: rows)
    }

    /// The products with the most flags: flag count and the worst flag (+ competitor price).
    static func products(_ report: AuditReport) -> AuditReportTable {
        let competitor = report.competitorPricesAvailable
        let rows = report.products.map { product -> [String] in
            let row = [
                product.productID, AuditFormatting.grouped(product.flags), String(product.worstBidID),
                AuditFormatting.signed(product.worstDeviation), AuditFormatting.percent(product.worstDeviationPercent),
            ]
            return competitor ? row + competitorCells(product.competitor) : row
        }
        let header = ["Product", "Flags", "Worst bid", "Worst difference", "Worst deviation"]
        return AuditReportTable(header: header, competitor: competitor, highlighted: [3, 4], rows: rows)
    }

    private init(header: [String], competitor: Bool, highlighted: Set<Int>, rows: [[String]]) {
        self.header = header + (competitor ? ["Competitor price", "Observed at"] : [])
        rightAligned = Array(repeating: true, count: header.count) + (competitor ? [true, false] : [])
        self.highlighted = highlighted
        self.rows = rows
    }

    private static func competitorCells(_ price: CompetitorPrice?) -> [String] {
        [price?.price ?? unknown, price?.observedAtText ?? unknown]
    }
}
