import BidCore
import Postgres
import ServiceSupport

/// The batch statements and their parameters.
///
/// Ids come from the sequence inside the same statement and are returned in input order
/// (`WITH ORDINALITY`), so mapping them back to requests relies on nothing undocumented —
/// not on the order of `INSERT … RETURNING`. Idempotency keys are claimed in the same statement
/// (and so the same transaction) as the bids they protect: a key exists exactly when its bid does.
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
            SELECT nextval(pg_get_serial_sequence('bids', 'id')) AS id, t.*
            FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], $4::numeric[])
                 WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, ordinal)
        ), inserted AS (
            INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc)
            SELECT id, product_id, current_cpc, target_roas, adjusted_cpc FROM input
        )
        SELECT id, true FROM input ORDER BY ordinal
        """

    /// A group's key is claimed on its first row (`head` is that row's ordinal); every row of the
    /// group is stored only when that claim succeeded, so a repeated group stores nothing.
    static let keyedSQL = """
        WITH input AS MATERIALIZED (
            SELECT nextval(pg_get_serial_sequence('bids', 'id')) AS id, t.*
            FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[], $6::text[], $7::int8[])
                 WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, idempotency_key, request, head, ordinal)
        ), claimed AS (
            INSERT INTO idempotency_keys (key, request, bid_id)
            SELECT idempotency_key, request, id FROM input WHERE idempotency_key IS NOT NULL
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

    static let lookupSQL = """
        SELECT k.key, k.request, b.id, b.adjusted_cpc::text
        FROM idempotency_keys k JOIN bids b ON b.id = k.bid_id
        WHERE k.key = ANY($1::text[])
        """

    /// The plain statement unless some group in the batch carries an idempotency key. `bids` is
    /// the number of bids in `batch` (groups flattened in order).
    static func statement(for batch: [BidWriter.Pending], bids count: Int) -> Statement {
        var bids: [BidRequest] = []
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
        var text = canonicalRequest(pending.bid)
        for bid in pending.rest { text += ";" + canonicalRequest(bid) }
        return text
    }

    static func canonicalRequest(_ bid: BidRequest) -> String {
        "\(bid.productID)|\(bid.currentCPC)|\(bid.targetROAS)"
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
