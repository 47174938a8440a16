import BidCore
import Postgres
import TextFormats

/// The batch statements and their parameters.
///
/// Ids come from the sequence inside the same statement and are returned in input order
/// (`WITH ORDINALITY`), so mapping them back to requests relies on nothing undocumented —
/// not on the order of `INSERT … RETURNING`. The sequence is looked up once per statement (an
/// InitPlan): `pg_get_serial_sequence` is only stable, so called bare it would run once per row,
/// a third of PostgreSQL's CPU per row at large batches (docs/decisions/0002-batch-statement-shape.md).
/// Idempotency keys are claimed in the same statement (and so the same transaction) as the bids
/// they protect: a key exists exactly when its bid does.
enum BidInsert {
    struct Statement {
        let sql: String
        let parameters: [String?]
        /// Prepared once per connection under this name (parsed and planned once).
        let name: String
    }

    struct Row {
        let id: Int64
        /// False when the bid's idempotency key was already claimed: nothing was stored for it.
        let fresh: Bool
    }

    static let plainSQL = """
        WITH input AS MATERIALIZED (
            SELECT nextval((SELECT pg_get_serial_sequence('bids', 'id')::regclass)) AS id, t.*
            FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], $4::numeric[])
                 WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, ordinal)
        ), inserted AS (
            INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc)
            SELECT id, product_id, current_cpc, target_roas, adjusted_cpc FROM input
        )
        SELECT id, true FROM input ORDER BY ordinal
        """

    /// A group's key is claimed on its first row (`head` is that row's ordinal), with the ids of
    /// all its rows in order (`bid_ids`, for groups of more than one bid) so that a repeat can
    /// answer every one; every row of the group is stored only when that claim succeeded, so a
    /// repeated group stores nothing.
    static let keyedSQL = """
        WITH input AS MATERIALIZED (
            SELECT nextval((SELECT pg_get_serial_sequence('bids', 'id')::regclass)) AS id, t.*
            FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[], $6::text[], $7::int8[])
                 WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, idempotency_key, request, head, ordinal)
        ), groups AS (
            SELECT head, array_agg(id ORDER BY ordinal) AS ids FROM input GROUP BY head HAVING count(*) > 1
        ), claimed AS (
            INSERT INTO idempotency_keys (key, request, bid_id, bid_ids)
            SELECT i.idempotency_key, i.request, i.id, g.ids
            FROM input i LEFT JOIN groups g ON g.head = i.ordinal
            WHERE i.idempotency_key IS NOT NULL
            ON CONFLICT (key) DO NOTHING
            RETURNING bid_id
        ), kept AS (
            SELECT i.ordinal FROM input i JOIN input h ON h.ordinal = i.head
            WHERE h.idempotency_key IS NULL OR h.id IN (SELECT bid_id FROM claimed)
        ), inserted AS (
            INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc)
            SELECT i.id, i.product_id, i.current_cpc, i.target_roas, i.adjusted_cpc FROM input i
            WHERE i.ordinal IN (SELECT ordinal FROM kept)
        )
        SELECT i.id, i.ordinal IN (SELECT ordinal FROM kept)
        FROM input i
        ORDER BY i.ordinal
        """

    /// What a group's key recorded: its request, then its bids' ids and stored prices in order
    /// (a key claimed by a single bid gives that one bid).
    static let groupLookupSQL = """
        SELECT k.request, u.id, b.adjusted_cpc::text
        FROM idempotency_keys k
        CROSS JOIN LATERAL unnest(coalesce(k.bid_ids, ARRAY[k.bid_id])) WITH ORDINALITY AS u(id, n)
        LEFT JOIN bids b ON b.id = u.id
        WHERE k.key = $1
        ORDER BY u.n
        """

    static let lookupSQL = """
        SELECT k.key, k.request, b.id, b.adjusted_cpc::text
        FROM idempotency_keys k JOIN bids b ON b.id = k.bid_id
        WHERE k.key = ANY($1::text[])
        """

    /// The plain statement unless some group in the batch carries an idempotency key. `bids` is
    /// the number of bids in `batch` (groups flattened in order).
    static func statement(for batch: [BidWriter.Pending], bids count: Int) -> Statement {
        var bids: [PricedBid] = []
        bids.reserveCapacity(count)
        for pending in batch {
            bids.append(pending.bid)
            bids.append(contentsOf: pending.rest)
        }
        var parameters = [
            PostgresArrayLiteral.decimals(bids.map(\.productID)), PostgresArrayLiteral.decimals(bids.map(\.currentCPC)),
            PostgresArrayLiteral.decimals(bids.map(\.targetROAS)),
            PostgresArrayLiteral.decimals(bids.map(\.adjustedCPC)),
        ]
        guard batch.contains(where: { $0.idempotencyKey != nil }) else {
            return Statement(sql: plainSQL, parameters: parameters, name: "bidengine_insert_plain")
        }
        var keys: [String?] = []
        var requests: [String?] = []
        var heads: [String] = []
        keys.reserveCapacity(count)
        requests.reserveCapacity(count)
        heads.reserveCapacity(count)
        for pending in batch {
            let head = heads.count + 1
            keys.append(pending.idempotencyKey)
            requests.append(pending.idempotencyKey == nil ? nil : canonicalRequest(pending))
            for _ in 0..<pending.count - 1 {
                keys.append(nil)
                requests.append(nil)
            }
            for _ in 0..<pending.count { heads.append(String(head)) }
        }
        parameters.append(PostgresArrayLiteral.text(keys))
        parameters.append(PostgresArrayLiteral.text(requests))
        parameters.append("{" + heads.joined(separator: ",") + "}")
        return Statement(sql: keyedSQL, parameters: parameters, name: "bidengine_insert_keyed")
    }

    /// What "the same request" means for a repeated key: the three fields exactly as received,
    /// for each bid of a group (`;` between bids).
    static func canonicalRequest(_ pending: BidWriter.Pending) -> String {
        if let request = pending.request { return request }
        var text = canonicalRequest(pending.bid)
        for bid in pending.rest { text += ";" + canonicalRequest(bid) }
        return text
    }

    static func canonicalRequest(_ bid: PricedBid) -> String {
        "\(bid.productID)|\(bid.currentCPC)|\(bid.targetROAS)"
    }

    /// The same for a bulk request: the mode and every item's verdict in order (a valid item by
    /// its fields, a rejected one by its messages), so a repeat whose answer could differ in any
    /// item is a different request. Never equal to a single bid's, so a key cannot cross over.
    static func canonicalBatch(_ batch: BidBatchRequest) -> String {
        var text = batch.atomic ? "batch:atomic" : "batch:partial"
        for item in batch.items {
            switch item {
            case .success(let bid): text += "\n" + canonicalRequest(bid)
            case .failure(.invalid(let messages)): text += "\n!" + messages.joined(separator: "|")
            case .failure(.notAnObject): text += "\n!object"
            case .failure(.malformedJSON(let reason)): text += "\n!json " + reason
            }
        }
        return text
    }

    static func rows(from result: PostgresResult, expected: Int) -> Result<[Row], PostgresError> {
        var rows: [Row] = []
        rows.reserveCapacity(result.rows.count)
        for row in result.rows {
            guard row.count == 2, let id = row[0].flatMap({ Int64($0) }) else { break }
            rows.append(Row(id: id, fresh: row[1] == "t"))
        }
        guard rows.count == expected else {
            return .failure(PostgresError(.query, "batch insert returned \(rows.count) rows for \(expected) bids"))
        }
        return .success(rows)
    }
}
