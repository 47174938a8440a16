/// The HTML report: one self-contained file (inline CSS and SVG, no script, nothing fetched) that
/// opens in any browser, offline. Same content as the text report, plus two charts: the deviation
/// of every reviewed bid, and the products with the most flags.
///
/// Checked in headless Chromium by scripts/ci/report-browser-check.sh: no axe-core violation, no
/// horizontal page scroll at 375 and 1280 px (charts scale down, wide tables scroll inside their
/// own focusable region), and a print layout that keeps tables whole and charts on the page.
enum AuditHTMLReport {
    static func render(_ report: AuditReport) -> String {
        let run = report.run
        let threshold = AuditFormatting.thresholdPercent(run.threshold)
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Bid audit report, run \(run.id), as of \(escape(run.asOfText))</title>
            <style>\(style)</style>
            </head>
            <body>
            <main>
            <h1>Bid audit report</h1>
            <p class="subtitle">Run \(run.id) &middot; bids calculated from \(escape(run.windowStartText)) to \(escape(run.asOfText)) \
            (\(escape(run.window.description)), end excluded) &middot; \(escape(run.trigger)) run &middot; \(escape(run.status.rawValue))</p>
            <p class="rule">A bid is flagged when |adjusted CPC &minus; current CPC| &gt; \(escape(threshold)) of its current CPC \
            (exact decimal comparison; a current CPC of 0 flags any change).</p>

            """
        guard run.status == .succeeded, let reviewed = run.bidsReviewed, let flagged = run.bidsFlagged else {
            html += "<p class=\"notice\">This run has not succeeded (status \(escape(run.status.rawValue)))"
            html += run.error.map { ": \(escape($0))" } ?? ""
            html += ".</p>\n"
            return html + closing(footer: false)
        }
        html += "<div class=\"cards\">\n"
        html += card("Bids reviewed", AuditFormatting.grouped(reviewed), note: nil, flagged: false)
        html += card(
            "Bids flagged", AuditFormatting.grouped(flagged),
            note: reviewed > 0 ? share(flagged, of: reviewed) + " of reviewed" : nil, flagged: flagged > 0)
        html += card(
            "Products with flags", AuditFormatting.grouped(report.productCount), note: nil,
            flagged: report.productCount > 0)
        html += card("Threshold", threshold, note: "of the current CPC", flagged: false)
        html += "</div>\n"
        if reviewed == 0 {
            html += "<p class=\"notice\">No bids in the window: nothing to audit.</p>\n"
            return html + closing(footer: false)
        }

        html += "<h2>How far every reviewed bid moved</h2>\n"
        html +=
            "<p class=\"legend\"><span style=\"background:\(AuditSVGCharts.flaggedColor)\"></span>beyond the threshold (flagged) "
        html += "<span style=\"background:\(AuditSVGCharts.mixedColor)\"></span>partly beyond "
        html += "<span style=\"background:\(AuditSVGCharts.withinColor)\"></span>within the threshold</p>\n"
        html += "<figure>\n" + AuditSVGCharts.distribution(report.bands, threshold: run.threshold) + "</figure>\n"

        if flagged == 0 {
            html +=
                "<p class=\"notice clean\">No bids flagged: all \(AuditFormatting.grouped(reviewed)) bids are within \(escape(threshold)) of their current CPC.</p>\n"
            return html + closing(footer: true)
        }
        html +=
            "<h2>Products with the most flagged bids</h2>\n<figure>\n" + AuditSVGCharts.products(report.products)
            + "</figure>\n"
        html += flagTable(report)
        html += productTable(report)
        return html + closing(footer: true)
    }

    // MARK: Parts

    /// Ends `<main>`; the footer, when there is one, is the page's contentinfo landmark after it.
    private static func closing(footer: Bool) -> String {
        "</main>\n" + (footer ? self.footer : "") + "</body>\n</html>\n"
    }

    private static func flagTable(_ report: AuditReport) -> String {
        let title = "Flagged bids, largest difference first"
        var html = "<h2>\(title)</h2>\n" + table(AuditReportTable.flags(report), label: title)
        if report.unlistedFlags > 0 {
            html +=
                "<p class=\"more\">&hellip; and \(AuditFormatting.grouped(report.unlistedFlags)) more flagged bids. "
            html += "The \(AuditFormatting.grouped(Int64(report.worstFlags.count))) largest differences are listed; "
            html += "the CSV and JSON exports (<code>bidengine audit --format csv</code>) list every one.</p>\n"
        }
        return html
    }

    private static func productTable(_ report: AuditReport) -> String {
        let title = "Products with flagged bids, most flags first"
        var html = "<h2>\(title)</h2>\n" + table(AuditReportTable.products(report), label: title)
        if report.unlistedProducts > 0 {
            html +=
                "<p class=\"more\">&hellip; and \(AuditFormatting.grouped(report.unlistedProducts)) more products.</p>\n"
        }
        return html
    }

    /// A table inside its own scrolling region, so a narrow window scrolls the table, not the page;
    /// the region is focusable so keyboard users can scroll it too.
    private static func table(_ table: AuditReportTable, label: String) -> String {
        var html =
            "<div class=\"table-scroll\" role=\"region\" aria-label=\"\(escape(label))\" tabindex=\"0\">\n"
        html += "<table>\n<thead><tr>" + table.header.map { "<th>\(escape($0))</th>" }.joined()
        html += "</tr></thead>\n<tbody>\n"
        for row in table.rows {
            html += "<tr>"
            for (column, cell) in row.enumerated() {
                let style =
                    table.highlighted.contains(column)
                    ? " class=\"flag\"" : cell == AuditReportTable.unknown ? " class=\"unknown\"" : ""
                html += "<td\(style)>\(escape(cell))</td>"
            }
            html += "</tr>\n"
        }
        return html + "</tbody>\n</table>\n</div>\n"
    }

    private static func card(_ label: String, _ value: String, note: String?, flagged: Bool) -> String {
        var html = "<div class=\"card\(flagged ? " flagged" : "")\"><div class=\"label\">\(escape(label))</div>"
        html += "<div class=\"value\">\(escape(value))</div>"
        if let note { html += "<div class=\"note\">\(escape(note))</div>" }
        return html + "</div>\n"
    }

    /// `part / whole` as a percentage with two decimals, rounded half up, in integers.
    static func share(_ part: Int64, of whole: Int64) -> String {
        let hundredths = (part * 10_000 + whole / 2) / whole
        let fraction = String(hundredths % 100)
        return "\(hundredths / 100).\(fraction.count == 1 ? "0" + fraction : fraction)%"
    }

    /// Text safe inside elements and attribute values.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    private static let footer = """
        <footer>Generated by BidEngine. Every number is exact decimal arithmetic on the stored values; \
        differences are adjusted minus current CPC, percentages are of the current CPC, rounded half away from zero.</footer>

        """

    private static let style = """
        body{font-family:-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:2rem auto;max-width:1140px;\
        color:#222;padding:0 1rem}h1{margin-bottom:.2rem}h2{margin-top:2.2rem;font-size:1.25rem}\
        .subtitle,.rule{color:#555;margin:.3rem 0}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin-top:1.2rem}\
        .card{border:1px solid #ddd;border-radius:8px;padding:.8rem 1.2rem;min-width:180px}\
        .card .label{color:#666;font-size:.85rem}.card .value{font-size:1.7rem;font-weight:600}\
        .card .note{color:#666;font-size:.8rem}.card.flagged .value{color:#c0392b}\
        table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{padding:.3rem .6rem;border-bottom:1px solid #eee;\
        text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f6f6;position:sticky;top:0}\
        td.flag{color:#c0392b}td.unknown{color:#6b6b6b}.more,.notice{color:#555}.notice.clean{color:#1e8449;font-weight:600}\
        .legend span{display:inline-block;width:12px;height:12px;margin:0 .3rem 0 1rem;vertical-align:middle}\
        figure{margin:0}figure svg{display:block;max-width:100%;height:auto}\
        .table-scroll{overflow-x:auto;max-width:100%}.table-scroll:focus{outline:2px solid #2e86c1}\
        footer{margin-top:2.5rem;color:#595959;font-size:.8rem}\
        @media print{body{margin:0;max-width:none;font-size:10pt}.table-scroll{overflow:visible}\
        table{font-size:7.5pt}th,td{padding:.15rem .3rem}th{position:static}\
        figure,.card,tr{break-inside:avoid}h2{break-after:avoid}}
        """
}
