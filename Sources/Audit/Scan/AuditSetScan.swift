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

    /// `adjusted_cpc` and `current_cpc` differ by more than `threshold` × `current_cpc`.
    static func rule(threshold: String) -> String {
        """
        (adjusted_cpc > current_cpc * (1 + \(threshold)::numeric) OR adjusted_cpc < current_cpc * (1 - \(threshold)::numeric))
        """
    }

    /// The deviation in percent of `current_cpc`, in hundredths rounded half away from zero, from
    /// the columns `current_cpc` and `deviation` (see the type's comment).
    static let percentage = """
        CASE WHEN current_cpc > 0 AND abs(deviation) * 20000 + current_cpc < current_cpc * 2e38
             THEN div(abs(deviation) * 20000 + current_cpc, current_cpc * 2)
                  * CASE WHEN deviation < 0 THEN -0.01 ELSE 0.01 END
        END
        """

    /// Flagged bids of `[$1, $2)` at threshold `$3`, as the COPY columns of `AuditSQL.foundTable` after
    /// `run_id`: bid id, product, current and adjusted CPC as stored, deviation, percentage. Used
    /// when the window is read on a replica, whose rows must travel to the primary.
    static let declareFlags = """
        DECLARE \(flagsCursor) NO SCROLL CURSOR FOR
        SELECT id, product_id, current_cpc, adjusted_cpc, deviation, \(percentage)
        FROM (SELECT id, product_id, current_cpc, adjusted_cpc, adjusted_cpc - current_cpc AS deviation
              FROM bids
              WHERE calculated_at >= $1 AND calculated_at < $2 AND \(rule(threshold: "$3"))
             ) flagged
        """

    /// The window's distinct `(current_cpc, adjusted_cpc)` pairs with their bid counts, over
    /// `[$1, $2)`: one parallel hash aggregate, the only full read of the window besides the flags'.
    static let windowPairs = """
        SELECT current_cpc, adjusted_cpc, count(*) AS bids FROM bids
        WHERE calculated_at >= $1 AND calculated_at < $2
        GROUP BY current_cpc, adjusted_cpc
        """

    /// The run's pairs, kept in a temporary table of the run's transaction (dropped at its end) so
    /// that the bands and the flags both read them. `CREATE TABLE … AS` may use parallel workers
    /// (an `INSERT … SELECT` may not), and its parameters reach the planner as constants, so the
    /// window is pruned to its partitions.
    static let pairsTable = "audit_pairs"
    static let createPairs = "CREATE TEMPORARY TABLE \(pairsTable) ON COMMIT DROP AS \(windowPairs)"

    /// Bids per `AuditDeviationBand.index` (bands with no bid are absent) from `pairs`, a table
    /// or subquery of `(current_cpc, adjusted_cpc, bids)`, and under band -1 those no exact rule
    /// can judge: `numeric` accepts NaN and Infinity (which sort above every number), and the
    /// CHECK constraints of the old schema let them through.
    static func bands(pairs: String) -> String {
        """
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
                        FROM \(pairs) pairs) measured) judged
        ) banded GROUP BY band
        """
    }

    /// The bands of `[$1, $2)` read straight from `bids` (a replica's session has no pairs table).
    static let bands = bands(pairs: "(\(windowPairs))")

    /// The run's flagged pairs written straight from `audit_pairs`, for run `$1` at threshold
    /// `$2`: the rule and the percentage decided once per pair (a few rows), no bid read. Answers
    /// the number of flagged bids, then, when the flagged pairs are every combination of their
    /// distinct current and adjusted CPCs (one flagged pair, typically) and those are at most
    /// `priceListLimit` each, those CPCs as two array literals (else two NULLs): the bids of the
    /// flagged pairs are then exactly the bids with one of those current and one of those
    /// adjusted CPCs (`createFlaggedProductsByPrices`). `numeric` grouping merged the spellings
    /// of a pair (1.5 = 1.50), whose verdict and percentage are the same; reports read each bid's
    /// own digits by join.
    static let insertPairFlags = """
        WITH inserted AS (
            INSERT INTO audit_flag_pairs (run_id, current_cpc, adjusted_cpc, deviation_pct, bids)
            SELECT $1::bigint, current_cpc, adjusted_cpc, \(percentage), bids
            FROM (SELECT current_cpc, adjusted_cpc, adjusted_cpc - current_cpc AS deviation, bids FROM \(pairsTable)
                  WHERE \(rule(threshold: "$2"))) judged
            RETURNING bids, current_cpc, adjusted_cpc),
        prices AS (
            SELECT count(*) = count(DISTINCT current_cpc) * count(DISTINCT adjusted_cpc)
                   AND count(DISTINCT current_cpc) <= \(priceListLimit)
                   AND count(DISTINCT adjusted_cpc) <= \(priceListLimit) AS listed
            FROM inserted)
        SELECT coalesce(sum(bids), 0),
               CASE WHEN (SELECT listed FROM prices) THEN array_agg(DISTINCT current_cpc) END,
               CASE WHEN (SELECT listed FROM prices) THEN array_agg(DISTINCT adjusted_cpc) END
        FROM inserted
        """

    /// The most distinct current (and adjusted) CPCs that the flagged pairs may have for the
    /// per-product aggregate to compare every bid with them as constants instead of the join.
    static let priceListLimit = 8

    /// Per product, the flagged bids of run `$1` in the window `[$2, $3)`, read by joining the
    /// window's bids to the run's pairs (a hash join on the two prices): how many, the worst as
    /// `AuditSQL.insertProducts` keeps it (with the bid's own digits), and the lowest and highest
    /// flagged id. A `CREATE TABLE … AS`, so PostgreSQL may scan the window with parallel workers
    /// (they see the pairs this transaction wrote); the few rows then go to `audit_products`.
    static let flaggedProductsTable = "audit_flagged_products"
    static let createFlaggedProducts = """
        CREATE TEMPORARY TABLE \(flaggedProductsTable) ON COMMIT DROP AS
        SELECT b.product_id, count(*) AS flags,
               min(ARRAY[-abs(b.adjusted_cpc - b.current_cpc), b.id, b.adjusted_cpc - b.current_cpc, p.deviation_pct]) AS worst,
               min(b.id) AS first_bid_id, max(b.id) AS last_bid_id
        FROM bids b
        JOIN audit_flag_pairs p ON p.current_cpc = b.current_cpc AND p.adjusted_cpc = b.adjusted_cpc
        WHERE p.run_id = $1::bigint AND b.calculated_at >= $2 AND b.calculated_at < $3
        GROUP BY b.product_id
        """
    static let insertFlaggedProducts = """
        INSERT INTO audit_products (run_id, product_id, flags, worst_bid_id, worst_deviation, worst_deviation_pct)
        SELECT $1::bigint, product_id, flags, worst[2]::bigint, worst[3], worst[4] FROM \(flaggedProductsTable)
        """

    /// `createFlaggedProducts` for flagged pairs that are every combination of the current CPCs
    /// `$3` and the adjusted CPCs `$4` (arrays, see `insertPairFlags`), over the window `[$1, $2)`.
    /// Each bid is compared with a few constants instead of hashing its two `numeric`s for the
    /// join, and without the join (whose estimate, on pairs just written, is a row or two) the
    /// planner keeps the aggregate partial in each worker instead of sending every flagged bid
    /// to one process. The worst flag carries its pair, whose percentage
    /// `insertFlaggedProductsByPrices` looks up.
    static let createFlaggedProductsByPrices = """
        CREATE TEMPORARY TABLE \(flaggedProductsTable) ON COMMIT DROP AS
        SELECT product_id, count(*) AS flags,
               min(ARRAY[-abs(adjusted_cpc - current_cpc), id, adjusted_cpc - current_cpc, current_cpc, adjusted_cpc]) AS worst,
               min(id) AS first_bid_id, max(id) AS last_bid_id
        FROM bids
        WHERE calculated_at >= $1 AND calculated_at < $2
          AND current_cpc = ANY ($3::numeric[]) AND adjusted_cpc = ANY ($4::numeric[])
        GROUP BY product_id
        """
    static let insertFlaggedProductsByPrices = """
        INSERT INTO audit_products (run_id, product_id, flags, worst_bid_id, worst_deviation, worst_deviation_pct)
        SELECT $1::bigint, f.product_id, f.flags, f.worst[2]::bigint, f.worst[3], p.deviation_pct
        FROM \(flaggedProductsTable) f
        JOIN audit_flag_pairs p ON p.run_id = $1::bigint AND p.current_cpc = f.worst[4] AND p.adjusted_cpc = f.worst[5]
        """
    static let flaggedBounds = "SELECT min(first_bid_id), max(last_bid_id) FROM \(flaggedProductsTable)"

    /// The run's flags written where they are found, deciding the rule per bid: run `$1`,
    /// window `[$2, $3)`, threshold `$4` (see `AuditFlagSearch.byBid`). Stored one row per bid in
    /// `audit_flags`: this way is taken when nearly every bid is a price pair of its own, where
    /// the pairs would be as many as the flags and every read of them a join as large as the window.
    static let insertFlagsByBid = """
        INSERT INTO audit_flags (run_id, bid_id, product_id, current_cpc, adjusted_cpc, deviation, deviation_pct)
        SELECT $1::bigint, id, product_id, current_cpc, adjusted_cpc, deviation, \(percentage)
        FROM (SELECT id, product_id, current_cpc, adjusted_cpc, adjusted_cpc - current_cpc AS deviation
              FROM bids
              WHERE calculated_at >= $2 AND calculated_at < $3 AND \(rule(threshold: "$4"))
             ) flagged
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
        try bandCounts(session: session, statement: bands, parameters: [start, end], start: start, end: end)
    }

    /// Bids of the run's `audit_pairs` per band (`createPairs` ran on `session` in this transaction).
    static func pairBandCounts(session: PostgresSession, start: String, end: String) throws -> [Int64] {
        try bandCounts(session: session, statement: bands(pairs: pairsTable), parameters: [], start: start, end: end)
    }

    private static func bandCounts(
        session: PostgresSession, statement: String, parameters: [String?], start: String, end: String
    ) throws -> [Int64] {
        var counts = [Int64](repeating: 0, count: AuditDeviationBand.all.count)
        for row in try session.execute(statement, parameters).rows {
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
