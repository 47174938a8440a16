/// A stated goal, the figure measured against it, and whether it was met.
struct TargetCheck: Codable, Sendable {
    let goal: String
    let measured: String
    /// nil when the figure was not measured (section skipped or failed).
    let met: Bool?
    /// How far from the threshold, in words (`+12.3 % above`, `2.4× over`).
    let margin: String

    /// At least `threshold` (higher is better).
    static func atLeast(_ goal: String, value: Double?, threshold: Double, shown: (Double) -> String) -> TargetCheck {
        guard let value, value.isFinite else {
            return TargetCheck(goal: goal, measured: "not measured", met: nil, margin: "")
        }
        let met = value >= threshold
        let relative = (value / threshold - 1) * 100
        return TargetCheck(
            goal: goal, measured: shown(value), met: met,
            margin: "\(relative >= 0 ? "+" : "")\(Format.decimal(relative, places: 1)) % vs the target")
    }

    /// Below `threshold` (lower is better).
    static func below(_ goal: String, value: Double?, threshold: Double, shown: (Double) -> String) -> TargetCheck {
        upTo(goal, value: value, threshold: threshold, inclusive: false, shown: shown)
    }

    /// At most `threshold` (lower is better).
    static func atMost(_ goal: String, value: Double?, threshold: Double, shown: (Double) -> String) -> TargetCheck {
        upTo(goal, value: value, threshold: threshold, inclusive: true, shown: shown)
    }

    private static func upTo(
        _ goal: String, value: Double?, threshold: Double, inclusive: Bool, shown: (Double) -> String
    ) -> TargetCheck {
        guard let value, value.isFinite else {
            return TargetCheck(goal: goal, measured: "not measured", met: nil, margin: "")
        }
        let met = inclusive ? value <= threshold : value < threshold
        let ratio = value / threshold
        let margin =
            met
            ? "\(Format.decimal(ratio * 100, places: 1)) % of the limit"
            : "\(Format.decimal(ratio, places: 2))× the limit"
        return TargetCheck(goal: goal, measured: shown(value), met: met, margin: margin)
    }
}
