/// How long rows are kept, as operators write it: `400d`, `13w`, `36h`. Unset, empty, `forever`
/// or `keep` mean keep everything (the default of every retention setting).
public struct RetentionPeriod: Sendable, Equatable, CustomStringConvertible {
    public let seconds: Int64
    public let text: String

    public static let expectation = "a whole number of hours, days or weeks such as 36h, 400d or 13w, or 'forever'"

    /// nil for "keep everything"; throws a message naming `key` for anything unreadable.
    public static func parse(_ text: String?, key: String) throws(RetentionError) -> RetentionPeriod? {
        guard let text, !text.isEmpty, text != "forever", text != "keep" else { return nil }
        let digits = text.prefix { ("0"..."9").contains($0) }
        let unit = text.dropFirst(digits.count)
        let unitSeconds: Int64? =
            switch unit {
            case "h": 3_600
            case "d": 86_400
            case "w": 604_800
            default: nil
            }
        // 100 years is far beyond any retention and keeps the arithmetic away from overflow.
        guard let unitSeconds, !digits.isEmpty, digits.count <= 6, let value = Int64(digits), value > 0,
            value * unitSeconds <= 100 * 366 * 86_400
        else { throw RetentionError(message: "\(key) must be \(expectation), got '\(text)'") }
        return RetentionPeriod(seconds: value * unitSeconds, text: text)
    }

    public var description: String { text }
}

public struct RetentionError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
