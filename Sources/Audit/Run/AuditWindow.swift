/// How far back an audit looks from its `as_of`: a fixed number of seconds.
///
/// Fixed seconds rather than calendar days because the window is an interval on the UTC time
/// line: "7d" is always 604,800 s, so a week that contains a DST change still covers the same
/// amount of bidding, and the bounds passed to the index range scan never depend on a time zone.
public struct AuditWindow: Sendable, Hashable, CustomStringConvertible {
    public let seconds: Int64

    /// The legacy audit's window: 7 days.
    public static let legacy = AuditWindow(uncheckedSeconds: 7 * 86_400)
    /// Ten years: longer is a typo, not an audit.
    public static let maximumSeconds: Int64 = 3_650 * 86_400

    public init?(seconds: Int64) {
        guard seconds > 0, seconds <= Self.maximumSeconds else { return nil }
        self.seconds = seconds
    }

    private init(uncheckedSeconds seconds: Int64) {
        self.seconds = seconds
    }

    /// `7d`, `36h`, `1d12h`, `90m`, `3600s`, `2w`: whole numbers with a unit each, largest unit
    /// first, no unit repeated. A bare number is refused because "7" could mean days or seconds.
    public init?(parsing text: String) {
        let units: [(Character, Int64)] = [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]
        var total: Int64 = 0
        var digits = ""
        var nextUnit = 0
        for character in text {
            if character.isASCII, character.isNumber {
                digits.append(character)
                continue
            }
            guard !digits.isEmpty, digits.count <= 9, let value = Int64(digits),
                let position = units[nextUnit...].firstIndex(where: { $0.0 == character })
            else { return nil }
            total += value * units[position].1
            nextUnit = position + 1
            digits = ""
        }
        guard digits.isEmpty, nextUnit > 0 else { return nil }
        self.init(seconds: total)
    }

    /// The shortest spelling `init(parsing:)` reads back: `7d`, `1d12h`, `90s`.
    public var description: String {
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}
