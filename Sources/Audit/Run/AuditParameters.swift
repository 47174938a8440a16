public import BidCore
public import Foundation
import TextFormats

/// What one audit run examines: bids with `calculated_at` in `[asOf − window, asOf)`, judged by
/// `rule`. `asOf` identifies the run: auditing the same instant again replaces its results.
public struct AuditParameters: Sendable, Equatable {
    /// The end of the window (exclusive), on PostgreSQL's microsecond grid.
    public let asOf: Date
    public let window: AuditWindow
    public let rule: AuditRule
    public let trigger: AuditTrigger

    /// `asOf` is rounded to the nearest microsecond, the precision `timestamptz` keeps, so that
    /// the instant stored is the instant the window was computed from.
    public init(asOf: Date, window: AuditWindow = .legacy, rule: AuditRule = .legacy, trigger: AuditTrigger = .manual) {
        self.asOf = Date(timeIntervalSince1970: Double(AuditTime.microseconds(asOf)) / 1_000_000)
        self.window = window
        self.rule = rule
        self.trigger = trigger
    }

    var asOfMicroseconds: Int64 { AuditTime.microseconds(asOf) }
    var windowStartMicroseconds: Int64 { asOfMicroseconds - window.seconds * 1_000_000 }

    /// `asOf` as `timestamptz` input.
    var asOfText: String { AuditTime.sqlText(asOfMicroseconds) }
    /// `asOf − window` as `timestamptz` input.
    var windowStartText: String { AuditTime.sqlText(windowStartMicroseconds) }

    /// An RFC 3339 timestamp (`2026-06-15T02:00:00Z`, offsets and fractions allowed), or nil.
    public static func parseTimestamp(_ text: String) -> Date? {
        RFC3339Timestamp(parsing: text).map {
            Date(timeIntervalSince1970: Double($0.microsecondsSinceEpoch) / 1_000_000)
        }
    }

    /// A threshold as a fraction (`0.20`) or a percentage (`20%`), checked by `AuditRule`.
    public static func parseThreshold(_ text: String) -> AuditRule? {
        var number = text.trimmingCharacters(in: .whitespaces)
        var percent = false
        if number.hasSuffix("%") {
            number.removeLast()
            percent = true
        }
        guard var value = try? FixedDecimal(parsing: number) else { return nil }
        if percent {
            guard value.scale + 2 <= FixedDecimal.maxScale,
                let fraction = try? FixedDecimal(significand: value.significand, scale: value.scale + 2)
            else { return nil }
            value = fraction
        }
        return try? AuditRule(threshold: value)
    }
}
