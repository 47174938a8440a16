import Foundation

/// Number formatting for the table: fixed decimals, thousands separators, no locale surprises.
enum Format {
    static func decimal(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return "n/a" }
        return String(format: "%.\(places)f", value)
    }

    /// `31,842`.
    static func integer(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0, (digits.count - offset) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return (value < 0 ? "-" : "") + grouped
    }

    static func rate(_ value: Double) -> String {
        integer(Int(value.rounded()))
    }

    static func percent(_ fraction: Double, places: Int = 1) -> String {
        decimal(fraction * 100, places: places) + " %"
    }

    /// Milliseconds with three significant-ish decimals: `0.412`, `12.3`.
    static func milliseconds(_ value: Double) -> String {
        value < 10 ? decimal(value, places: 3) : value < 100 ? decimal(value, places: 2) : decimal(value, places: 1)
    }

    /// A ratio with enough digits to tell 0.004× from 0.0004×: `5.19×`, `0.0031×`.
    static func ratio(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        if value >= 10 { return decimal(value, places: 1) + "×" }
        if value >= 0.1 { return decimal(value, places: 2) + "×" }
        return String(format: "%.2g", value) + "×"
    }

    /// Pads or truncates to a column.
    static func column(_ text: String, _ width: Int, right: Bool = false) -> String {
        let count = text.count
        guard count < width else { return text }
        let padding = String(repeating: " ", count: width - count)
        return right ? padding + text : text + padding
    }
}
