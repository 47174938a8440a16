import BidCore

/// How numbers read in the text and HTML reports. Money stays the exact decimal text PostgreSQL
/// returned; only signs, grouping and trailing zeros are touched, never a digit's value.
enum AuditFormatting {
    /// `10000000` → `10,000,000`.
    static func grouped(_ value: Int64) -> String {
        let digits = String(value.magnitude)
        var text = ""
        for (offset, digit) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return value < 0 ? "-" + text : text
    }

    /// A difference with its direction: `+1.30`, `-2.01`, `0.00`.
    static func signed(_ decimalText: String) -> String {
        if decimalText.hasPrefix("-") || decimalText.allSatisfy({ $0 == "0" || $0 == "." }) { return decimalText }
        return "+" + decimalText
    }

    /// `+65.00%`, or `n/a` when the percentage is undefined (current CPC 0).
    static func percent(_ decimalText: String?) -> String {
        decimalText.map { signed($0) + "%" } ?? "n/a"
    }

    /// A fraction as a percentage without needless zeros: `0.20` → `20%`, `0.125` → `12.5%`.
    static func thresholdPercent(_ threshold: FixedDecimal) -> String {
        guard let percent = try? threshold.multiplied(by: FixedDecimal(100)) else {
            return threshold.description + " (fraction)"
        }
        return trimmed(percent.description, keeping: 0) + "%"
    }

    /// Money with at least two decimals and no more than it needs: `0.4000` → `0.40`, `0.125` stays.
    static func money(_ value: FixedDecimal) -> String {
        trimmed(value.description, keeping: 2)
    }

    /// Drops trailing fractional zeros beyond `keeping` places (and the point when none remain).
    static func trimmed(_ text: String, keeping places: Int) -> String {
        guard let point = text.firstIndex(of: ".") else { return text }
        var result = text
        while result.last == "0", result.distance(from: point, to: result.endIndex) - 1 > places { result.removeLast() }
        if result.last == "." { result.removeLast() }
        return result
    }

    /// Rows as columns padded to their widest cell; `rightAligned[i]` for numeric columns.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: [Bool]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let padding = String(repeating: " ", count: widths[index] - cell.count)
                parts.append(rightAligned[index] ? padding + cell : cell + padding)
            }
            var text = parts.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }
}
