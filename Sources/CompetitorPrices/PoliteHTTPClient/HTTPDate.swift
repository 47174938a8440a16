import Foundation
import TextFormats

/// The three HTTP-date forms a recipient must accept (RFC 9110 §5.6.7), always GMT:
/// `Sun, 06 Nov 1994 08:49:37 GMT`, `Sunday, 06-Nov-94 08:49:37 GMT`, `Sun Nov  6 08:49:37 1994`.
enum HTTPDate {
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// Seconds since 1970-01-01T00:00:00Z, or nil when `text` is not an HTTP-date.
    /// `now` resolves rfc850's two-digit years.
    static func epochSeconds(_ text: String, now: Date = Date()) -> Int64? {
        let tokens = text.split(separator: " ").map(String.init)
        let day: Int64
        let month: Int64
        let year: Int64
        let time: String
        switch tokens.count {
        case 6 where tokens[5] == "GMT" && tokens[0].hasSuffix(","):  // IMF-fixdate
            guard let parsedDay = number(tokens[1], digits: 2...2), let parsedMonth = monthNumber(tokens[2]),
                let parsedYear = number(tokens[3], digits: 4...4)
            else { return nil }
            (day, month, year, time) = (parsedDay, parsedMonth, parsedYear, tokens[4])
        case 4 where tokens[3] == "GMT" && tokens[0].hasSuffix(","):  // rfc850-date
            let parts = tokens[1].split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 3, let parsedDay = number(parts[0], digits: 2...2),
                let parsedMonth = monthNumber(parts[1]),
                let twoDigits = number(parts[2], digits: 2...2)
            else { return nil }
            (day, month, year, time) = (parsedDay, parsedMonth, fullYear(twoDigits, now: now), tokens[2])
        case 5:  // asctime-date (a one-digit day is padded with a space, which split() absorbs)
            guard let parsedMonth = monthNumber(tokens[1]), let parsedDay = number(tokens[2], digits: 1...2),
                let parsedYear = number(tokens[4], digits: 4...4)
            else { return nil }
            (day, month, year, time) = (parsedDay, parsedMonth, parsedYear, tokens[3])
        default:
            return nil
        }
        let clock = time.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard clock.count == 3, let hour = number(clock[0], digits: 2...2),
            let minute = number(clock[1], digits: 2...2),
            let second = number(clock[2], digits: 2...2), hour <= 23, minute <= 59, second <= 60,
            (1...RFC3339Timestamp.daysIn(month: month, year: year)).contains(day)
        else { return nil }
        return RFC3339Timestamp.days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    private static func number(_ text: String, digits: ClosedRange<Int>) -> Int64? {
        guard digits.contains(text.utf8.count),
            text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        return Int64(text)
    }

    private static func monthNumber(_ text: String) -> Int64? {
        months.firstIndex(of: text.lowercased()).map { Int64($0 + 1) }
    }

    /// A two-digit year more than 50 years in the future means the most recent matching past year.
    private static func fullYear(_ twoDigits: Int64, now: Date) -> Int64 {
        let currentYear = RFC3339Timestamp.civil(fromDays: Int64((now.timeIntervalSince1970 / 86_400).rounded(.down)))
            .year
        var year = currentYear - currentYear % 100 + twoDigits
        if year > currentYear + 50 { year -= 100 }
        return year
    }
}
