public import Foundation

/// Instants as the audit stores and prints them: microseconds since the Unix epoch (what
/// `timestamptz` keeps), written as RFC 3339 in UTC.
public enum AuditTime {
    /// `date` on the microsecond grid. Dates are binary floating point; rounding to the nearest
    /// microsecond recovers the exact instant for any date within a few centuries of 1970.
    public static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public static func date(_ microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }

    /// `2026-06-15T02:00:00.000000Z`: valid `timestamptz` input whatever the session's settings.
    public static func sqlText(_ microseconds: Int64) -> String {
        RFC3339Timestamp(microsecondsSinceEpoch: microseconds).canonicalText
    }

    /// `2026-06-15T02:00:00Z`, with the fraction only when there is one (`…:00.250000Z`).
    public static func text(_ microseconds: Int64) -> String {
        let canonical = sqlText(microseconds)
        guard microseconds % 1_000_000 == 0 else { return canonical }
        return String(canonical.dropLast(8)) + "Z"
    }

    /// The SQL expression giving a `timestamptz` column as microseconds (exact: `extract` returns numeric).
    public static func microsecondsSQL(_ column: String) -> String {
        "(extract(epoch FROM \(column)) * 1000000)::bigint"
    }
}
