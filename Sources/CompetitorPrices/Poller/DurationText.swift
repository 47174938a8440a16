/// Durations as operators write them in environment variables: `300` (seconds), `300s`, `5m`,
/// `1h`, `250ms`. Whole numbers only, so that `1.5m` is an error rather than a guess.
enum DurationText {
    static let expectation = "a positive duration such as 300, 300s, 5m, 1h or 250ms"

    static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmedOfSpaces()
        let digits = trimmed.prefix { ("0"..."9").contains($0) }
        let unit = trimmed.dropFirst(digits.count)
        guard !digits.isEmpty, digits.count <= 9, let value = Int64(digits), value > 0 else { return nil }
        switch unit {
        case "", "s": return .seconds(value)
        case "ms": return .milliseconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3600)
        default: return nil
        }
    }
}
