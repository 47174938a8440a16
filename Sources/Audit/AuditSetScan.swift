import Postgres

/// The audit's judgement, done by PostgreSQL next to the bids: the rule, the percentage and the
/// deviation bands as SQL over `numeric`, so that only flagged bids and thirteen counts leave the
/// database. Every statement here only reads `bids`, so it can run on any session that sees them
/// (the run's own, a worker's, or one on a replica).
///
/// Exactness, matching `AuditRule` and `AuditDeviationBand` (which state the same rule in Swift):
/// - flagged: `|adjusted − current| > threshold × current` for a positive current CPC, written as
///   `adjusted > current × (1 + threshold) OR adjusted < current × (1 − threshold)`, which is the
///   same comparison (current > 0) with one multiplication per side; for a current CPC of 0 it is
///   `adjusted ≠ 0`, as in Swift. `numeric` multiplication and comparison are exact.
/// - percentage: `deviation / current × 100` rounded half away from zero to 2 places, computed as
///   `div(2·|deviation|·10⁴ + current, 2·current)` hundredths: `div` truncates exactly, and a
///   `numeric` division (`/`) would round to a precision of its own choosing first. NULL when the
///   current CPC is 0, or when the percentage does not fit 38 digits.
/// - bands: edges compared exactly (`|deviation| × 100 > edge × current`), evaluated once per
///   distinct `(current_cpc, adjusted_cpc)` pair: bids repeat a few prices, so a parallel hash
///   aggregate of the pairs replaces thousands of multiplications per distinct pair.
enum AuditSetScan {
    static let flagsCursor = "audit_flags_found"

    /// Flagged bids of `[$1, $2)` at threshold `$3`, as the COPY columns of `audit_flags` after
    /// `run_id`: bid id, product, current and adjusted CPC as stored, deviation, percentage.
    static let declareFlags = """
        DECLARE \(flagsCursor) NO SCROLL CURSOR FOR
        SELECT id, product_id, current_cpc, adjusted_cpc, deviation,
               CASE WHEN current_cpc > 0 AND abs(deviation) * 20000 + current_cpc < current_cpc * 2e38
                    THEN div(abs(deviation) * 20000 + current_cpc, current_cpc * 2)
                         * CASE WHEN deviation < 0 THEN -0.01 ELSE 0.01 END
               END
        FROM (SELECT id, product_id, current_cpc, adjusted_cpc, adjusted_cpc - current_cpc AS deviation
              FROM bids
              WHERE calculated_at >= $1 AND calculated_at < $2
                AND (adjusted_cpc > current_cpc * (1 + $3::numeric) OR adjusted_cpc < current_cpc * (1 - $3::numeric))
             ) flagged
        """

    /// Bids of `[$1, $2)` per `AuditDeviationBand.index` (bands with no bid are absent), and
    /// under band -1 those no exact rule can judge: `numeric` accepts NaN and Infinity (which sort
    /// above every number), and the CHECK constraints of the old schema let them through.
    static let bands = """
        SELECT band, sum(bids)::bigint FROM (
            SELECT CASE WHEN current_cpc >= 'Infinity' OR adjusted_cpc >= 'Infinity' THEN -1
                        WHEN adjusted_cpc = current_cpc THEN 5
                        WHEN current_cpc <= 0 THEN 12
                        WHEN adjusted_cpc < current_cpc THEN 4 - exceeded
                        WHEN adjusted_cpc - current_cpc > current_cpc THEN 11
                        ELSE 6 + exceeded END AS band, bids
            FROM (SELECT current_cpc, adjusted_cpc, bids,
                         (magnitude > 5 * current_cpc)::int + (magnitude > 10 * current_cpc)::int
                         + (magnitude > 20 * current_cpc)::int + (magnitude > 50 * current_cpc)::int AS exceeded
                  FROM (SELECT current_cpc, adjusted_cpc, abs(adjusted_cpc - current_cpc) * 100 AS magnitude, bids
                        FROM (SELECT current_cpc, adjusted_cpc, count(*) AS bids FROM bids
                              WHERE calculated_at >= $1 AND calculated_at < $2
                              GROUP BY current_cpc, adjusted_cpc) pairs) measured) judged
        ) banded GROUP BY band
        """

    /// The first bid of `[$1, $2)` that is not a finite number, to name it in the error.
    static let unjudgeable = """
        SELECT id, current_cpc, adjusted_cpc FROM bids
        WHERE calculated_at >= $1 AND calculated_at < $2 AND (current_cpc >= 'Infinity' OR adjusted_cpc >= 'Infinity')
        ORDER BY id LIMIT 1
        """

    /// Bids of `[start, end)` per band, read on `session` (a plain statement, so PostgreSQL may
    /// scan with parallel workers). Throws `unreadableBid` if any bid is not a finite number.
    static func bandCounts(session: PostgresSession, start: String, end: String) throws -> [Int64] {
        var counts = [Int64](repeating: 0, count: AuditDeviationBand.all.count)
        for row in try session.execute(bands, [start, end]).rows {
            if row.first == "-1" {
                let bid = try session.execute(unjudgeable, [start, end]).rows.first ?? []
                let text = bid.map { $0 ?? "NULL" } + ["?", "?", "?"]
                throw AuditError.unreadableBid(
                    id: text[0], reason: "current_cpc \(text[1]), adjusted_cpc \(text[2]): not a finite number")
            }
            guard row.count == 2, let band = row[0].flatMap({ Int($0) }), counts.indices.contains(band),
                let bids = row[1].flatMap({ Int64($0) })
            else { throw AuditSQL.unreadable("the band counts") }
            counts[band] = bids
        }
        return counts
    }
}
