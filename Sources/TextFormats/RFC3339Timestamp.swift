/// An RFC 3339 timestamp, validated here and reduced to the one form the history queries use:
/// UTC with exactly six fractional digits (`2025-11-25T02:06:00.123456Z`).
///
/// Parsing in Swift rather than handing the text to PostgreSQL keeps bad input a 400 naming the
/// parameter instead of a query error, and makes the comparison exact: PostgreSQL keeps
/// microseconds and would round a finer fraction to the nearest one, which can move a boundary
/// past a row. Rounding the fraction *up* instead keeps both `calculated_at >= since` and
/// `calculated_at < until` true to the text the client sent, because stored values lie on the
/// microsecond grid.
public struct RFC3339Timestamp: Equatable, Sendable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public let microsecondsSinceEpoch: Int64

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ`; valid PostgreSQL `timestamptz` input whatever the session's
    /// time zone or date style.
    public var canonicalText: String {
        let microsecondsPerDay: Int64 = 86_400_000_000
        let days = Self.floorDivide(microsecondsSinceEpoch, microsecondsPerDay)
        let ofDay = microsecondsSinceEpoch - days * microsecondsPerDay
        let (year, month, day) = Self.civil(fromDays: days)
        let seconds = ofDay / 1_000_000
        return "\(Self.padded(year, 4))-\(Self.padded(month, 2))-\(Self.padded(day, 2))"
            + "T\(Self.padded(seconds / 3600, 2)):\(Self.padded(seconds / 60 % 60, 2)):\(Self.padded(seconds % 60, 2))"
            + ".\(Self.padded(ofDay % 1_000_000, 6))Z"
    }

    /// The supported range, in UTC: what RFC 3339 can write (four-digit years) and PostgreSQL
    /// reads back without an era suffix.
    /// 0001-01-01T00:00:00Z
    public static let earliest = RFC3339Timestamp(microsecondsSinceEpoch: -62_135_596_800_000_000)
    /// 9999-12-31T23:59:59.999999Z
    public static let latest = RFC3339Timestamp(microsecondsSinceEpoch: 253_402_300_799_999_999)

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// `date-time` of RFC 3339 §5.6: `2025-11-25T02:06:00Z`, `2025-11-25t02:06:00.5+01:00`. Also a
    /// space for the `T` (RFC 3339's own note allows it) and a space for the offset's `+`, because
    /// an unencoded `+` in a query string arrives as a space. Nil when the text is not such a
    /// timestamp, names an impossible date or time, or falls outside `earliest...latest` in UTC.
    public init?(parsing text: String) {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.digits(4), scanner.skip("-"),
            let month = scanner.digits(2), scanner.skip("-"),
            let day = scanner.digits(2), scanner.skip(anyOf: "Tt "),
            let hour = scanner.digits(2), scanner.skip(":"),
            let minute = scanner.digits(2), scanner.skip(":"),
            let second = scanner.digits(2)
        else { return nil }
        var micros: Int64 = 0
        if scanner.skip(".") {
            guard let fraction = scanner.fractionMicroseconds() else { return nil }
            micros = fraction
        }
        var offsetSeconds: Int64 = 0
        if !scanner.skip(anyOf: "Zz") {
            guard let sign = scanner.take(anyOf: "+- "), let offsetHour = scanner.digits(2), scanner.skip(":"),
                let offsetMinute = scanner.digits(2), offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetSeconds = (offsetHour * 3600 + offsetMinute * 60) * (sign == UInt8(ascii: "-") ? -1 : 1)
        }
        guard scanner.atEnd,
            (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day),
            hour <= 23, minute <= 59,
            // A leap second (:60) counts as the first second of the next minute, as in PostgreSQL.
            second <= 60
        else { return nil }
        let days = Self.days(fromCivil: year, month, day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        let value = seconds * 1_000_000 + micros
        guard (Self.earliest.microsecondsSinceEpoch...Self.latest.microsecondsSinceEpoch).contains(value) else {
            return nil
        }
        self.microsecondsSinceEpoch = value
    }

    // MARK: Calendar (proleptic Gregorian; Howard Hinnant's days_from_civil / civil_from_days)

    public static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = floorDivide(shiftedYear, 400)
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = floorDivide(shifted, 146_097)
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    public static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Division rounding towards negative infinity, so that instants before 1970 land on the right day.
    public static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        let quotient = value / divisor
        return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }

    private static func padded(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    // MARK: Scanning

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { index == bytes.count }

        /// Exactly `count` ASCII digits.
        mutating func digits(_ count: Int) -> Int64? {
            guard bytes.count - index >= count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + count] {
                guard let digit = Self.digit(byte) else { return nil }
                value = value * 10 + digit
            }
            index += count
            return value
        }

        /// One or more digits after the point, as microseconds rounded up: any non-zero digit
        /// past the sixth adds one.
        mutating func fractionMicroseconds() -> Int64? {
            var micros: Int64 = 0
            var count = 0
            var roundUp = false
            while index < bytes.count, let digit = Self.digit(bytes[index]) {
                if count < 6 { micros = micros * 10 + digit } else if digit != 0 { roundUp = true }
                count += 1
                index += 1
            }
            guard count > 0 else { return nil }
            for _ in count..<max(count, 6) { micros *= 10 }
            return micros + (roundUp ? 1 : 0)
        }

        mutating func skip(_ character: Unicode.Scalar) -> Bool {
            take(anyOf: String(character)) != nil
        }

        mutating func skip(anyOf characters: String) -> Bool {
            take(anyOf: characters) != nil
        }

        mutating func take(anyOf characters: String) -> UInt8? {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return nil }
            defer { index += 1 }
            return bytes[index]
        }

        private static func digit(_ byte: UInt8) -> Int64? {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) ? Int64(byte - UInt8(ascii: "0")) : nil
        }
    }
}
