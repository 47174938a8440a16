import BidCore

/// The bars of the deviation-percentage histogram, kept for every bid reviewed (not only the
/// flagged ones) so a reader sees where the threshold cuts the distribution.
///
/// Bands are fixed, whatever the run's threshold, so runs compare night to night. Edges are
/// whole percentages decided exactly (`Assessment.percentExceeds`): a rise of exactly 20 % is in
/// `(10%, 20%]`, 20.004 % in `(20%, 50%]`. Decreases mirror increases, closed on the far side.
public struct AuditDeviationBand: Sendable, Equatable {
    /// Position on the chart, left to right; stored as `audit_deviation_bands.band`.
    public let index: Int
    public let label: String
    /// A shorter label for the chart's axis (the percentages without the interval brackets).
    public let chartLabel: String
    /// Edges of `|deviation %|` as (exclusive lower, inclusive upper); nil for "unchanged" and "n/a".
    /// `upper` is nil for the open-ended band.
    let magnitude: (lower: Int, upper: Int?)?
    /// True for decreases, false for increases, nil for "unchanged" and "n/a".
    public let isDecrease: Bool?

    /// The edges, in percent, between neighbouring bands on each side of zero.
    static let edges = [5, 10, 20, 50]

    public static let all: [AuditDeviationBand] = [
        AuditDeviationBand(
            index: 0, label: "[-100%, -50%)", chartLabel: "-100…-50", magnitude: (50, 100), isDecrease: true),
        AuditDeviationBand(
            index: 1, label: "[-50%, -20%)", chartLabel: "-50…-20", magnitude: (20, 50), isDecrease: true),
        AuditDeviationBand(
            index: 2, label: "[-20%, -10%)", chartLabel: "-20…-10", magnitude: (10, 20), isDecrease: true),
        AuditDeviationBand(index: 3, label: "[-10%, -5%)", chartLabel: "-10…-5", magnitude: (5, 10), isDecrease: true),
        AuditDeviationBand(index: 4, label: "[-5%, 0%)", chartLabel: "-5…0", magnitude: (0, 5), isDecrease: true),
        AuditDeviationBand(index: 5, label: "0%", chartLabel: "0", magnitude: nil, isDecrease: nil),
        AuditDeviationBand(index: 6, label: "(0%, 5%]", chartLabel: "0…5", magnitude: (0, 5), isDecrease: false),
        AuditDeviationBand(index: 7, label: "(5%, 10%]", chartLabel: "5…10", magnitude: (5, 10), isDecrease: false),
        AuditDeviationBand(index: 8, label: "(10%, 20%]", chartLabel: "10…20", magnitude: (10, 20), isDecrease: false),
        AuditDeviationBand(index: 9, label: "(20%, 50%]", chartLabel: "20…50", magnitude: (20, 50), isDecrease: false),
        AuditDeviationBand(
            index: 10, label: "(50%, 100%]", chartLabel: "50…100", magnitude: (50, 100), isDecrease: false),
        AuditDeviationBand(index: 11, label: "> 100%", chartLabel: "> 100", magnitude: (100, nil), isDecrease: false),
        AuditDeviationBand(index: 12, label: "n/a (current CPC 0)", chartLabel: "n/a", magnitude: nil, isDecrease: nil),
    ]

    /// Bands are identified by their position.
    public static func == (lhs: AuditDeviationBand, rhs: AuditDeviationBand) -> Bool {
        lhs.index == rhs.index
    }

    static let unchanged = 5
    static let undefined = 12

    /// The band of one assessed bid.
    static func index(of assessment: AuditRule.Assessment) -> Int {
        if assessment.deviation.isZero { return unchanged }
        if assessment.isPercentUndefined { return undefined }
        var exceeded = 0
        for edge in edges where assessment.percentExceeds(edge) { exceeded += 1 }
        if assessment.deviation.isNegative { return 4 - exceeded }
        if exceeded == edges.count, assessment.percentExceeds(100) { return 11 }
        return 6 + exceeded
    }
}
