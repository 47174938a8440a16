import BidCore
import Postgres
import TextFormats

/// The poller's blocking database work for one source's run, on a `PostgresSession` of its own
/// (the poller runs on its own threads, never on an event loop).
final class CompetitorPriceStore {
    private let session: PostgresSession
    private let connectionString: String
    private let pooler: ConnectionPooler
    private var lock: AdvisoryLock?

    init(connectionString: String, pooler: ConnectionPooler = .none) throws {
        session = try PostgresSession(connectionString: connectionString)
        self.connectionString = connectionString
        self.pooler = pooler
    }

    func close() {
        lock?.release()
        lock = nil
        session.close()
    }

    // MARK: One poller per source

    /// A session-level advisory lock per source, so that two processes (scheduler replicas, a
    /// manual `bidengine poll`) never poll one source at once and double its request rate.
    /// Keyed by a hash of the name: a collision makes two sources take turns, nothing worse.
    static let lockKey = "1886350444, hashtext($1)"  // 1886350444 = "poll"
    static let lockSQL = "SELECT pg_try_advisory_lock(\(lockKey))"
    static let unlockSQL = "SELECT pg_advisory_unlock(\(lockKey))"

    func tryLock(source: String) throws -> Bool {
        lock = try AdvisoryLock.tryAcquire(
            Self.lockKey, [source], session: session, pooler: pooler, connectionString: connectionString)
        return lock != nil
    }

    func unlock(source: String) {
        lock?.release()
        lock = nil
    }

    // MARK: poll_runs

    /// Runs of this source still marked running belong to a process that died: whoever holds the
    /// lock now knows nobody else is running them.
    func abandonStaleRuns(source: String) throws {
        try session.execute(
            "UPDATE poll_runs SET status = 'abandoned', finished_at = now() WHERE source = $1 AND status = 'running'",
            [source])
    }

    func startRun(source: String) throws -> Int64 {
        let id = try session.execute("INSERT INTO poll_runs (source) VALUES ($1) RETURNING id", [source]).scalar
        guard let id, let value = Int64(id) else { throw PostgresError(.query, "INSERT INTO poll_runs returned no id") }
        return value
    }

    /// A run that did not start because another process holds the source's lock.
    func recordSkipped(source: String, reason: String) throws -> Int64? {
        let id = try session.execute(
            "INSERT INTO poll_runs (source, finished_at, status, error) VALUES ($1, now(), 'skipped', $2) RETURNING id",
            [source, reason]
        ).scalar
        return id.flatMap { Int64($0) }
    }

    static let countersSQL = """
        UPDATE poll_runs SET pages = $2, requests = $3, items_seen = $4, items_stored = $5, items_rejected = $6, errors = $7
        WHERE id = $1
        """

    private static func counterParameters(_ summary: PollRunSummary, runID: Int64) -> [String?] {
        [
            String(runID), String(summary.pages), String(summary.requests), String(summary.itemsSeen),
            String(summary.itemsStored),
            String(summary.itemsRejected), String(summary.errors),
        ]
    }

    func finishRun(_ summary: PollRunSummary, runID: Int64) throws {
        try session.transaction { session in
            try session.execute(Self.countersSQL, Self.counterParameters(summary, runID: runID))
            try session.execute(
                "UPDATE poll_runs SET finished_at = now(), status = $2, error = $3 WHERE id = $1",
                [String(runID), summary.status.rawValue, summary.error])
        }
    }

    // MARK: Prices

    /// Stores a page's items whose price changed since the row last stored for them, or that
    /// have no row yet this UTC day, in one statement, and returns how many rows it added.
    ///
    /// Race-free without locks: `competitor_price_latest` holds the last stored price per item,
    /// and `INSERT … ON CONFLICT DO UPDATE … WHERE` decides per item under that row's lock, so of
    /// two concurrent statements seeing the same new price only the first stores it (the second
    /// re-checks the updated row and finds nothing changed). Only items whose latest row was
    /// inserted or updated come back from `RETURNING` and get a history row. `numeric` equality
    /// compares values, so `10.0` after `10.00` is not a change.
    ///
    /// The product is resolved at insert time: `competitor_product_map`, else the external id
    /// itself when it is a plain integer, else NULL (the history is kept; map it to find it by product).
    /// Rows are inserted in the page's order, so ids follow the listing.
    static let storeSQL = """
        WITH incoming AS (
            SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::numeric[])
                WITH ORDINALITY AS i (external_id, title, brand, category, price, ordinal)
        ), changed AS (
            INSERT INTO competitor_price_latest AS latest (source, external_id, price, stored_at)
            SELECT $1, external_id, price, now() FROM incoming
            ON CONFLICT (source, external_id) DO UPDATE
                SET price = EXCLUDED.price, stored_at = EXCLUDED.stored_at
                WHERE latest.price <> EXCLUDED.price
                   OR (latest.stored_at AT TIME ZONE 'UTC')::date < (EXCLUDED.stored_at AT TIME ZONE 'UTC')::date
            RETURNING latest.external_id
        )
        INSERT INTO competitor_prices (source, external_id, product_id, title, brand, category, price, observed_at)
        SELECT $1, i.external_id,
               coalesce(m.product_id, CASE WHEN i.external_id ~ '^[0-9]{1,30}$' THEN i.external_id::numeric END),
               i.title, i.brand, i.category, i.price, now()
        FROM incoming i
        JOIN changed c ON c.external_id = i.external_id
        LEFT JOIN competitor_product_map m ON m.source = $1 AND m.external_id = i.external_id
        ORDER BY i.ordinal
        """

    /// The page's rows and the run's counters (`counters` plus the rows stored now) in one
    /// transaction: `poll_runs` never disagrees with what was stored, even if the process dies
    /// between pages. Returns the number of rows stored.
    func storePage(_ items: [CompetitorItem], source: String, counters: PollRunSummary, runID: Int64) throws -> Int {
        try session.transaction { session in
            var stored = 0
            if !items.isEmpty {
                let result = try session.execute(
                    Self.storeSQL,
                    [
                        source,
                        PostgresArrayLiteral.text(items.map(\.externalID)),
                        PostgresArrayLiteral.text(items.map(\.title)),
                        PostgresArrayLiteral.text(items.map(\.brand)),
                        PostgresArrayLiteral.text(items.map(\.category)),
                        PostgresArrayLiteral.decimals(items.map(\.price)),
                    ])
                stored = result.affectedRows ?? 0
            }
            var final = counters
            final.itemsStored += stored
            try session.execute(Self.countersSQL, Self.counterParameters(final, runID: runID))
            return stored
        }
    }
}
