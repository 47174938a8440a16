import BidCore

/// The report's two charts as inline SVG: no script, no fonts or images fetched, so the HTML
/// file renders the same offline in any browser (and in a mail client that strips scripts).
///
/// Geometry is integer arithmetic on counts; no floating point is needed to draw bars.
enum AuditSVGCharts {
    static let flaggedColor = "#c0392b"
    static let mixedColor = "#e67e22"
    static let withinColor = "#2e86c1"

    // MARK: Distribution

    /// One bar per deviation band over every reviewed bid, coloured by how the run's threshold
    /// treats the band: all flagged, all within, or split by the threshold.
    static func distribution(_ bands: [AuditBandCount], threshold: FixedDecimal) -> String {
        let (width, height) = (1100, 340)
        let (left, top, bottom) = (20, 30, 60)
        let plotHeight = height - top - bottom
        let slot = (width - 2 * left) / max(1, bands.count)
        let barWidth = slot - 14
        let maximum = max(1, bands.map(\.bids).max() ?? 1)
        let thresholdPercent = (try? threshold.multiplied(by: FixedDecimal(100))) ?? threshold
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(width) \(height)" width="\(width)" height="\(height)" \
            role="img" aria-labelledby="distribution-title">
            <title id="distribution-title">Reviewed bids by deviation of the adjusted CPC from the current CPC</title>

            """
        let baseline = top + plotHeight
        svg +=
            "<line x1=\"\(left)\" y1=\"\(baseline)\" x2=\"\(width - left)\" y2=\"\(baseline)\" stroke=\"#555\" stroke-width=\"1\"/>\n"
        for (position, count) in bands.enumerated() {
            let x = left + position * slot + 7
            var barHeight = Int(Int64(plotHeight) * count.bids / maximum)
            if count.bids > 0 { barHeight = max(barHeight, 2) }
            let color = self.color(of: count.band, thresholdPercent: thresholdPercent)
            svg +=
                "<rect x=\"\(x)\" y=\"\(baseline - barHeight)\" width=\"\(barWidth)\" height=\"\(barHeight)\" fill=\"\(color)\">"
            svg +=
                "<title>\(AuditHTMLReport.escape(count.band.label)): \(AuditFormatting.grouped(count.bids)) bids</title></rect>\n"
            svg += text(
                AuditFormatting.grouped(count.bids), x: x + barWidth / 2, y: baseline - barHeight - 6, size: 12,
                anchor: "middle")
            svg += text(count.band.chartLabel, x: x + barWidth / 2, y: baseline + 18, size: 12, anchor: "middle")
        }
        svg += text(
            "deviation of adjusted CPC from current CPC, in %", x: width / 2, y: height - 12, size: 13,
            anchor: "middle", color: "#333")
        svg += "</svg>\n"
        return svg
    }

    /// Flagged when the whole band lies beyond the threshold, within when it lies inside, mixed otherwise.
    static func color(of band: AuditDeviationBand, thresholdPercent: FixedDecimal) -> String {
        if band.index == AuditDeviationBand.undefined { return flaggedColor }
        guard let magnitude = band.magnitude else { return withinColor }
        if FixedDecimal(magnitude.lower) >= thresholdPercent { return flaggedColor }
        if let upper = magnitude.upper, FixedDecimal(upper) <= thresholdPercent { return withinColor }
        return mixedColor
    }

    // MARK: Products

    /// Horizontal bars: the products with the most flagged bids (at most `limit`).
    static func products(_ products: [AuditProductRecord], limit: Int = 10) -> String {
        let shown = Array(products.prefix(limit))
        let rowHeight = 30
        let (labelWidth, barSpace, width) = (190, 560, 1100)
        let height = 20 + rowHeight * max(1, shown.count)
        let maximum = max(1, shown.map(\.flags).max() ?? 1)
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(width) \(height)" width="\(width)" height="\(height)" \
            role="img" aria-labelledby="products-title">
            <title id="products-title">Products with the most flagged bids</title>

            """
        for (row, product) in shown.enumerated() {
            let y = 10 + row * rowHeight
            let barLength = max(2, Int(Int64(barSpace) * product.flags / maximum))
            svg += text("product \(product.productID)", x: labelWidth - 10, y: y + 19, size: 13, anchor: "end")
            svg +=
                "<rect x=\"\(labelWidth)\" y=\"\(y + 4)\" width=\"\(barLength)\" height=\"\(rowHeight - 10)\" fill=\"\(flaggedColor)\">"
            svg +=
                "<title>product \(AuditHTMLReport.escape(product.productID)): \(AuditFormatting.grouped(product.flags)) flagged bids</title></rect>\n"
            let worst =
                "worst \(AuditFormatting.signed(product.worstDeviation)) (\(AuditFormatting.percent(product.worstDeviationPercent)))"
            let flags = product.flags == 1 ? "1 flag" : "\(AuditFormatting.grouped(product.flags)) flags"
            svg += text(
                "\(flags), \(worst)", x: labelWidth + barLength + 8, y: y + 19, size: 12, anchor: "start", color: "#333"
            )
        }
        svg += "</svg>\n"
        return svg
    }

    private static func text(_ content: String, x: Int, y: Int, size: Int, anchor: String, color: String = "#222")
        -> String
    {
        "<text x=\"\(x)\" y=\"\(y)\" font-size=\"\(size)\" text-anchor=\"\(anchor)\" fill=\"\(color)\">\(AuditHTMLReport.escape(content))</text>\n"
    }
}
