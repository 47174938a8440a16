import Postgres

/// Every statement the audit runs, in one place, so the blocking runner, the report loader and
/// the API share them and their plans can be read together.
enum AuditSQL {
    // MARK: Running

    /// Creates the run row for a new `as_of`, visible as `running` while the audit works. A row
    /// that exists (a re-run) is left alone here: its previous results stay visible until the
    /// replacement commits.
    static let insertRun = """
        INSERT INTO audit_runs (as_of, window_seconds, threshold, triggered_by, status, started_at)
        VALUES ($1, $2, $3, $4, 'running', clock_timestamp())
        ON CONFLICT (as_of) DO NOTHING
        RETURNING id
        """
    static let runIDByAsOf = "SELECT id FROM audit_runs WHERE as_of = $1"
    /// Held by the session that runs an audit, for as long as it lives: a run left `running` whose
    /// lock is free belongs to a process that died (or was interrupted while waiting to settle).
    static let holdRun = "SELECT pg_advisory_lock(1635083369, ($1::bigint & 2147483647)::int)"  // 1635083369 = "audi"
    /// Marks the runs of dead processes failed, so that a `running` row always means a live run.
    /// The transaction-level probe of each run's lock is released when the statement ends.
    static let abandonDeadRuns = """
        UPDATE audit_runs SET status = 'failed', finished_at = clock_timestamp(),
            error = 'abandoned: the process running it ended before it finished'
        WHERE status = 'running' AND id <> $1
          AND pg_try_advisory_xact_lock(1635083369, (id & 2147483647)::int)
        RETURNING id
        """
    static let clock = "SELECT clock_timestamp()"
    /// Serialises attempts on the same `as_of`: a second one waits here until the first commits,
    /// then deletes what the first wrote and writes its own, so flags are never doubled.
    static let lockRun = "SELECT 1 FROM audit_runs WHERE id = $1 FOR UPDATE"
    static let deleteResults = [
        "DELETE FROM audit_flags WHERE run_id = $1",
        "DELETE FROM audit_flag_pairs WHERE run_id = $1",
        "DELETE FROM audit_products WHERE run_id = $1",
        "DELETE FROM audit_deviation_bands WHERE run_id = $1",
    ]
    /// Room for the per-product sort of a few hundred thousand flags to stay in memory.
    static let workMemory = "SET LOCAL work_mem = '64MB'"
    static func fetch(_ cursor: String, _ count: Int) -> String { "FETCH FORWARD \(count) FROM \(cursor)" }
    /// The run's flagged bids while it runs, one row each with its values, in a temporary table of
    /// its transaction (no WAL, no index, dropped at commit): what is kept of them is the flagged
    /// pairs (`insertFlagPairs`), the per-product summary and the bounds of their ids.
    static let foundTable = "audit_found"
    static let createFound = """
        CREATE TEMPORARY TABLE \(foundTable) (
            run_id bigint, bid_id bigint, product_id numeric, current_cpc numeric, adjusted_cpc numeric,
            deviation numeric, deviation_pct numeric
        ) ON COMMIT DROP
        """
    static let copyFlags = """
        COPY \(foundTable) (run_id, bid_id, product_id, current_cpc, adjusted_cpc, deviation, deviation_pct) FROM STDIN
        """
    /// The run's flagged price pairs with their bid counts. `numeric` grouping ignores trailing
    /// zeros (1.5 = 1.50): one row per pair, whichever spelling; the percentage is the same for
    /// every spelling.
    static let insertFlagPairs = """
        INSERT INTO audit_flag_pairs (run_id, current_cpc, adjusted_cpc, deviation_pct, bids)
        SELECT $1::bigint, current_cpc, adjusted_cpc, min(deviation_pct), count(*)
        FROM \(foundTable) GROUP BY current_cpc, adjusted_cpc
        """
    static let foundBounds = "SELECT min(bid_id), max(bid_id) FROM \(foundTable)"
    /// Per product: the flag count and the worst flag (largest absolute difference, then lowest
    /// bid id), computed once per run from the flags found so reports never aggregate millions of rows.
    /// One hash aggregate keeps, per product, the least `[-|deviation|, bid id, deviation,
    /// percentage]`: arrays compare element by element (exactly, for `numeric`), bid ids are
    /// unique, so the last two elements only ride along, with their digits as stored (a NULL
    /// percentage stays NULL). Sorting every flag by product (`DISTINCT ON`, the statement before)
    /// took 2.7× as long and spilled to disk at 1.25 million flags (docs/query-plans.md).
    /// `flags`: the flags of run `$1`, `foundTable` or `storedFlags`.
    static func insertProducts(from flags: String) -> String {
        """
        INSERT INTO audit_products (run_id, product_id, flags, worst_bid_id, worst_deviation, worst_deviation_pct)
        SELECT $1::bigint, product_id, flags, worst[2]::bigint, worst[3], worst[4]
        FROM (SELECT product_id, count(*) AS flags, min(ARRAY[-abs(deviation), bid_id, deviation, deviation_pct]) AS worst
              FROM \(flags) GROUP BY product_id) summary
        """
    }
    /// The run's flags stored one row per bid (`AuditFlagSearch.byBid`).
    static let storedFlags = "audit_flags WHERE run_id = $1::bigint"
    /// The flags just written have no statistics yet (autovacuum analyzes them later), so the
    /// planner's estimate of one run's flags is whatever the table held at its last ANALYZE: it
    /// may expect a handful and sort a million on disk. A hash aggregate is right at every size
    /// (it spills to disk by itself beyond `work_mem`); this makes the planner take it.
    static let preferHashing = "SET LOCAL enable_sort = off"
    static func insertBands(count: Int) -> String {
        let rows = (0..<count).map { "($1, $\(2 + 3 * $0), $\(3 + 3 * $0), $\(4 + 3 * $0))" }
        return "INSERT INTO audit_deviation_bands (run_id, band, label, bids) VALUES " + rows.joined(separator: ", ")
    }
    static let finishRun = """
        UPDATE audit_runs SET status = 'succeeded', window_seconds = $2, threshold = $3, triggered_by = $4,
               started_at = $5, finished_at = clock_timestamp(), bids_reviewed = $6, bids_flagged = $7, error = NULL,
               first_bid_id = $8, last_bid_id = $9
        WHERE id = $1
        """
    /// A failed attempt never hides results that an earlier attempt for the same `as_of` produced.
    static let failRun = """
        UPDATE audit_runs SET status = 'failed', error = $2, finished_at = clock_timestamp()
        WHERE id = $1 AND status <> 'succeeded'
        """
    static let succeededAt = "SELECT EXISTS (SELECT 1 FROM audit_runs WHERE as_of = $1 AND status = 'succeeded')"

    // MARK: Reading

    static let runByID = "SELECT \(AuditRunRecord.columns) FROM audit_runs WHERE id = $1"
    static let latestRun = """
        SELECT \(AuditRunRecord.columns) FROM audit_runs WHERE status = 'succeeded' ORDER BY as_of DESC LIMIT 1
        """
    /// Newest first, keyset on `as_of` (unique); served backwards by the `as_of` unique index.
    static let runsPage = """
        SELECT \(AuditRunRecord.columns) FROM audit_runs WHERE as_of < $1 ORDER BY as_of DESC LIMIT $2
        """
    static let bands = "SELECT band, bids FROM audit_deviation_bands WHERE run_id = $1 ORDER BY band"
    /// True when `competitor_prices` exists with the columns the reports read (it belongs to the
    /// competitor poller, which may not be deployed yet).
    static let competitorPricesAvailable = """
        SELECT count(*) = 3 FROM pg_attribute
        WHERE attrelid = to_regclass('competitor_prices') AND NOT attisdropped
          AND attname IN ('product_id', 'price', 'observed_at')
        """
    /// The latest competitor price observed at or before the run's `as_of` (run id `$1`), so a
    /// report rendered again later shows what was known when the audit ran.
    private static let latestCompetitorPrice = """
        LEFT JOIN LATERAL (
            SELECT c.price, c.observed_at FROM competitor_prices c
            WHERE c.product_id = X.product_id AND c.observed_at <= (SELECT as_of FROM audit_runs WHERE id = $1)
            ORDER BY c.observed_at DESC LIMIT 1) cp ON true
        """
    private static func competitorJoin(_ alias: String, _ enabled: Bool) -> String {
        enabled ? latestCompetitorPrice.replacingOccurrences(of: "X.", with: "\(alias).") : ""
    }
    /// Where a run's flags are read (`AuditRunRecord.flagSource`).
    enum FlagSource {
        /// One row per flag in `audit_flags` (runs audited before flags were stored per pair).
        case stored
        /// The bids of the window `[start, end)` with ids in `bids` whose price pair is one of the
        /// run's `audit_flag_pairs`: each bid's own values, the pair's percentage.
        case pairs(start: String, end: String, bids: ClosedRange<Int64>)

        /// The run's flags as a subquery with `audit_flags`' columns, for run `$1`; the window and
        /// the id bounds are further parameters from `$first` on, so the planner prunes the
        /// partitions of `bids` and sees the ranges.
        ///
        /// `inBidOrder`: for a page in bid order, each bid of the id range looks its pair up
        /// (an index probe, memoized per distinct pair) in id order, so a page reads about
        /// (page size ÷ share flagged) bids. Otherwise the window is scanned once and hash-joined
        /// to the pairs (parallel where PostgreSQL may): the planner cannot know how many bids a
        /// pair has, and with the join it expects one row and sorts the window for a page.
        func table(first: Int, inBidOrder: Bool = false) -> String {
            switch self {
            case .stored:
                return "(SELECT * FROM audit_flags WHERE run_id = $1)"
            case .pairs:
                let pairs =
                    inBidOrder
                    ? """
                    CROSS JOIN LATERAL (
                        SELECT deviation_pct FROM audit_flag_pairs p
                        WHERE p.run_id = $1 AND p.current_cpc = b.current_cpc AND p.adjusted_cpc = b.adjusted_cpc
                        OFFSET 0) p
                    """
                    : """
                    JOIN audit_flag_pairs p
                      ON p.run_id = $1 AND p.current_cpc = b.current_cpc AND p.adjusted_cpc = b.adjusted_cpc
                    """
                return """
                    (SELECT $1::bigint AS run_id, b.id AS bid_id, b.product_id, b.current_cpc, b.adjusted_cpc,
                            b.adjusted_cpc - b.current_cpc AS deviation, p.deviation_pct
                     FROM bids b
                     \(pairs)
                     WHERE b.calculated_at >= $\(first)::timestamptz AND b.calculated_at < $\(first + 1)::timestamptz
                       AND b.id >= $\(first + 2)::bigint AND b.id <= $\(first + 3)::bigint)
                    """
            }
        }

        /// The values of `table(first:)`'s parameters.
        var parameters: [String?] {
            switch self {
            case .stored: return []
            case .pairs(let start, let end, let bids):
                return [start, end, String(bids.lowerBound), String(bids.upperBound)]
            }
        }
    }

    /// The worst flags first (largest absolute difference, then bid id). `$1` run id, `$2` limit,
    /// then `source.parameters`.
    static func worstFlags(competitor: Bool, source: FlagSource) -> String {
        """
        SELECT \(AuditFlagRecord.columns(competitor: competitor))
        FROM (\(worstFlagsFirst(source))) f
        \(competitorJoin("f", competitor))
        ORDER BY abs(f.deviation) DESC, f.bid_id
        """
    }

    /// The `$2` worst of the run's flags, unordered.
    ///
    /// Stored per bid: a bounded top-N sort over them. Stored per pair: a flag's difference is
    /// its pair's, so the run's pairs tell how many bids share the largest difference. When those
    /// are at least `$2`, the worst are the first `$2` of them by bid id: the window read in id
    /// order from the run's first flagged bid, keeping the bids with that difference (each one's
    /// pair probed once, memoized), stops after `$2` of them, about `$2` ÷ their share of the
    /// window rows instead of the whole window. Otherwise (fewer bids share the largest
    /// difference) the window is hash-joined to the pairs and top-N sorted, as for any flags.
    /// Only one of the two branches runs: each starts with a one-time filter on the pairs' count.
    private static func worstFlagsFirst(_ source: FlagSource) -> String {
        switch source {
        case .stored:
            return "SELECT * FROM \(source.table(first: 3)) s ORDER BY abs(deviation) DESC, bid_id LIMIT $2"
        case .pairs:
            return """
                WITH largest AS (
                    SELECT abs(adjusted_cpc - current_cpc) AS difference, sum(bids) >= $2 AS enough
                    FROM audit_flag_pairs WHERE run_id = $1 GROUP BY 1 ORDER BY 1 DESC LIMIT 1)
                (SELECT * FROM \(source.table(first: 3, inBidOrder: true)) s
                 WHERE coalesce((SELECT enough FROM largest), false)
                   AND abs(deviation) = (SELECT difference FROM largest)
                 ORDER BY bid_id LIMIT $2)
                UNION ALL
                (SELECT * FROM \(source.table(first: 3)) s
                 WHERE NOT coalesce((SELECT enough FROM largest), false)
                 ORDER BY abs(deviation) DESC, bid_id LIMIT $2)
                """
        }
    }
    /// Flags in bid order after `$2` (keyset on the bid id), `$3` rows; `$1` run id, then
    /// `source.parameters`.
    static func flagsPage(competitor: Bool, source: FlagSource) -> String {
        """
        SELECT \(AuditFlagRecord.columns(competitor: competitor))
        FROM (SELECT * FROM \(source.table(first: 4, inBidOrder: true)) s WHERE bid_id > $2 ORDER BY bid_id LIMIT $3) f
        \(competitorJoin("f", competitor))
        ORDER BY f.bid_id
        """
    }
    /// Every flag in bid order, for a cursor (`$1` run id, then `source.parameters`).
    static func allFlags(competitor: Bool, source: FlagSource) -> String {
        """
        SELECT \(AuditFlagRecord.columns(competitor: competitor))
        FROM \(source.table(first: 2)) f \(competitorJoin("f", competitor))
        ORDER BY f.bid_id
        """
    }
    /// Products with the most flags first (then the worst difference), with how many there are
    /// in all as an eighth column. `$1` run id, `$2` limit (NULL = all).
    static func products(competitor: Bool) -> String {
        """
        SELECT \(AuditProductRecord.columns(competitor: competitor)), p.total
        FROM (SELECT *, count(*) OVER () AS total FROM audit_products WHERE run_id = $1
              ORDER BY flags DESC, abs(worst_deviation) DESC, product_id LIMIT $2) p
        \(competitorJoin("p", competitor))
        ORDER BY p.flags DESC, abs(p.worst_deviation) DESC, p.product_id
        """
    }

    /// A result whose rows do not have the expected shape: the schema is not the one this code knows.
    static func unreadable(_ table: String) -> PostgresError {
        PostgresError(.query, "unexpected row shape reading \(table); is the database migrated?")
    }
}
