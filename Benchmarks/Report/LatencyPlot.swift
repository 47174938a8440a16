import Foundation

/// A hand-written SVG of latency by percentile, in the style of HdrHistogram's plots: the x axis
/// is log-scaled in "nines" (0 → 99.99 %), so the tail gets as much room as the body; one curve
/// per open-loop run. The y axis is linear unless the curves span more than two decades (a
/// saturated baseline next to a fast server), then logarithmic so that every curve stays readable.
enum LatencyPlot {
    private static let width = 960.0
    private static let height = 560.0
    private static let left = 72.0
    private static let right = 300.0
    private static let top = 56.0
    private static let bottom = 64.0
    /// 99.99 % is four nines.
    private static let nines = 4.0
    private static let palette = ["#1f77b4", "#ff7f0e", "#d62728", "#2ca02c", "#9467bd", "#8c564b"]

    static func render(_ report: BenchmarkReport) -> String {
        let runs = report.http.filter { $0.mode == "open" && !$0.curve.isEmpty }
        let fractions = Array(Set(runs.compactMap(\.fractionOfMax))).sorted()
        let plotWidth = width - left - right
        let plotHeight = height - top - bottom
        let values = runs.flatMap { $0.curve.map(\.milliseconds) }.filter { $0 > 0 }
        let highest = values.max() ?? 1
        let lowest = values.min() ?? 1
        let logarithmic = highest / lowest > 100
        let yMax = logarithmic ? pow(10, ceil(log10(highest))) : niceCeiling(highest)
        let yMin = logarithmic ? pow(10, floor(log10(lowest))) : 0

        func x(_ percentile: Double) -> Double {
            let clipped = min(max(percentile, 0), 99.99)
            return left + plotWidth * log10(100 / (100 - clipped)) / nines
        }
        func y(_ milliseconds: Double) -> Double {
            let clipped = min(max(milliseconds, yMin), yMax)
            let fraction = logarithmic ? log10(clipped / yMin) / log10(yMax / yMin) : clipped / yMax
            return top + plotHeight * (1 - fraction)
        }

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="24" font-size="16" font-weight="bold">Latency by percentile — open loop, coordinated omission corrected</text>
            <text x="\(left)" y="42" fill="#555">\(escape("\(report.machine.cores) cores, \(report.machine.cpuModel); \(report.settings.connections) connections; commit \(report.machine.gitCommit.prefix(12))"))</text>

            """
        // Grid and axes.
        for (percentile, label) in [(0.0, "0%"), (90.0, "90%"), (99.0, "99%"), (99.9, "99.9%"), (99.99, "99.99%")] {
            let position = format(x(percentile))
            svg +=
                "<line x1=\"\(position)\" y1=\"\(format(top))\" x2=\"\(position)\" y2=\"\(format(top + plotHeight))\" stroke=\"#ddd\"/>\n"
            svg +=
                "<text x=\"\(position)\" y=\"\(format(top + plotHeight + 18))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        let ticks: [Double] =
            logarithmic
            ? (0...Int(log10(yMax / yMin).rounded())).map { yMin * pow(10, Double($0)) }
            : (0...5).map { yMax * Double($0) / 5 }
        for value in ticks {
            let places = value >= 1 || value == 0 ? 0 : Int(ceil(-log10(value)))
            let position = format(y(value))
            svg +=
                "<line x1=\"\(format(left))\" y1=\"\(position)\" x2=\"\(format(left + plotWidth))\" y2=\"\(position)\" stroke=\"#ddd\"/>\n"
            svg +=
                "<text x=\"\(format(left - 8))\" y=\"\(position)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Format.decimal(value, places: places))</text>\n"
        }
        svg +=
            "<rect x=\"\(format(left))\" y=\"\(format(top))\" width=\"\(format(plotWidth))\" height=\"\(format(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        svg +=
            "<text x=\"\(format(left + plotWidth / 2))\" y=\"\(format(height - 18))\" text-anchor=\"middle\">percentile</text>\n"
        svg +=
            "<text transform=\"translate(18 \(format(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">latency (ms\(logarithmic ? ", log scale" : ""))</text>\n"

        // Curves and legend.
        for (index, run) in runs.enumerated() {
            let colour = palette[(fractions.firstIndex(of: run.fractionOfMax ?? 0) ?? 0) % palette.count]
            let dash =
                run.target == "bid"
                ? "" : run.target == "ceiling" ? " stroke-dasharray=\"7 4\"" : " stroke-dasharray=\"2 3\""
            let points = run.curve.map { "\(format(x($0.percentile))),\(format(y($0.milliseconds)))" }.joined(
                separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash) points=\"\(points)\"/>\n"
            let legendY = top + 8 + Double(index) * 20
            let legendX = left + plotWidth + 20
            svg +=
                "<line x1=\"\(format(legendX))\" y1=\"\(format(legendY))\" x2=\"\(format(legendX + 28))\" y2=\"\(format(legendY))\" stroke=\"\(colour)\" stroke-width=\"2\"\(dash)/>\n"
            let label =
                "\(run.target) @ \(Format.percent(run.fractionOfMax ?? 0, places: 0)) (\(Format.rate(run.offeredRate ?? 0))/s): p99 \(Format.milliseconds(run.latency.p99)) ms"
            svg +=
                "<text x=\"\(format(legendX + 36))\" y=\"\(format(legendY))\" dominant-baseline=\"middle\">\(escape(label))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// 1, 2 or 5 × a power of ten, at least `value`.
    private static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    private static func format(_ value: Double) -> String {
        String(format: "%.1f", value)
    }

    private static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
