/// The plain-text report, in the spirit of the legacy audit's output: a title, the period, how
/// many bids were reviewed and flagged, then each flagged bid with its product, current and
/// adjusted CPC, the difference and the threshold it exceeded; then the products.
///
/// Lists are capped at the report's `rowLimit` (worst first) and say how many more there are,
/// so a night with millions of flags still prints something a person can read.
enum AuditTextReport {
    static func render(_ report: AuditReport) -> String {
        let run = report.run
        let threshold = AuditFormatting.thresholdPercent(run.threshold)
        var lines = [
            "Bid audit report (run \(run.id))",
            "Period:         \(run.windowStartText) to \(run.asOfText) (\(run.window), end excluded)",
            "Rule:           flagged when |adjusted CPC - current CPC| > \(threshold) of current CPC",
        ]
        guard run.status == .succeeded, let reviewed = run.bidsReviewed, let flagged = run.bidsFlagged else {
            lines.append("Status:         \(run.status.rawValue)\(run.error.map { " (\($0))" } ?? "")")
            return lines.joined(separator: "\n") + "\n"
        }
        lines.append("Bids reviewed:  \(AuditFormatting.grouped(reviewed))")
        lines.append("Bids flagged:   \(AuditFormatting.grouped(flagged))")
        lines.append("")
        if reviewed == 0 {
            lines.append("No bids in the window: nothing to audit.")
            return lines.joined(separator: "\n") + "\n"
        }
        if flagged == 0 {
            lines.append(
                "No bids flagged: all \(AuditFormatting.grouped(reviewed)) bids are within \(threshold) of their current CPC."
            )
            return lines.joined(separator: "\n") + "\n"
        }

        lines.append("Flagged bids, largest difference first:")
        lines.append(text(AuditReportTable.flags(report)))
        if report.unlistedFlags > 0 {
            lines.append(
                "... and \(AuditFormatting.grouped(report.unlistedFlags)) more flagged bids (the \(AuditFormatting.grouped(Int64(report.worstFlags.count))) largest differences are listed; --format csv or json lists all)"
            )
        }

        lines.append("")
        lines.append("Products with flagged bids, most flags first:")
        lines.append(text(AuditReportTable.products(report)))
        if report.unlistedProducts > 0 {
            lines.append("... and \(AuditFormatting.grouped(report.unlistedProducts)) more products")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func text(_ table: AuditReportTable) -> String {
        AuditFormatting.table(table.header, table.rows, rightAligned: table.rightAligned)
    }
}
