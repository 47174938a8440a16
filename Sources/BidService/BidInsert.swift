import BidCore
import Postgres

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

    static let keyedSQL = """
        WITH input AS MATERIALIZED (
            SELECT nextval(pg_get_serial_sequence('bids', 'id')) AS id, t.*
            FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], $4::numeric[], $5::text[], $6::text[])
                 WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, idempotency_key, request, ordinal)
        ), claimed AS (
            INSERT INTO idempotency_keys (key, request, bid_id)
            SELECT idempotency_key, request, id FROM input WHERE idempotency_key IS NOT NULL
            ON CONFLICT (key) DO NOTHING
            RETURNING bid_id
        ), inserted AS (
            INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc)
            SELECT i.id, i.product_id, i.current_cpc, i.target_roas, i.adjusted_cpc FROM input i
            WHERE i.idempotency_key IS NULL OR i.id IN (SELECT bid_id FROM claimed)
        )
        SELECT i.id, i.idempotency_key IS NULL OR c.bid_id IS NOT NULL
        FROM input i LEFT JOIN claimed c ON c.bid_id = i.id
        ORDER BY i.ordinal
        """

    static let lookupSQL = """
        SELECT k.key, k.request, b.id, b.adjusted_cpc::text
        FROM idempotency_keys k JOIN bids b ON b.id = k.bid_id
        WHERE k.key = ANY($1::text[])
        """

    /// A bulk request's bids with one key for all of them: the key is claimed with every bid's id
    /// in order (`bid_ids`), and the bids are stored only when the claim succeeds, all in the
    /// statement's one transaction. Without a key a group is `plainSQL`.
    static let groupKeyedSQL = """
        WITH input AS MATERIALIZED (
            SELECT nextval(pg_get_serial_sequence('bids', 'id')) AS id, t.*
            FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], $4::numeric[])
                 WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, ordinal)
        ), claimed AS (
            INSERT INTO idempotency_keys (key, request, bid_id, bid_ids)
            SELECT $5::text, $6::text, min(id), array_agg(id ORDER BY ordinal) FROM input
            ON CONFLICT (key) DO NOTHING
            RETURNING key
        ), inserted AS (
            INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc)
            SELECT id, product_id, current_cpc, target_roas, adjusted_cpc FROM input
            WHERE EXISTS (SELECT FROM claimed)
        )
        SELECT id, EXISTS (SELECT FROM claimed) FROM input ORDER BY ordinal
        """

    /// What a bulk request's key recorded: its request, then its bids' ids and stored prices in
    /// item order (one row with null ids when the key belongs to a single bid).
    static let groupLookupSQL = """
        SELECT k.request, u.id, b.adjusted_cpc::text
        FROM idempotency_keys k
        LEFT JOIN LATERAL unnest(k.bid_ids) WITH ORDINALITY AS u(id, n) ON true
        LEFT JOIN bids b ON b.id = u.id
        WHERE k.key = $1
        ORDER BY u.n
        """

    static func groupStatement(_ bids: [BidRequest], idempotencyKey: String?, request: String) -> Statement {
        guard let idempotencyKey else { return Statement(sql: plainSQL, parameters: columns(bids)) }
        return Statement(sql: groupKeyedSQL, parameters: columns(bids) + [idempotencyKey, request])
    }

    /// `$1…$4`: the bids' columns as arrays, for `unnest`.
    private static func columns(_ bids: [BidRequest]) -> [String?] {
        [
            PostgresArrayLiteral.decimals(bids.map(\.productID)), PostgresArrayLiteral.decimals(bids.map(\.currentCPC)),
            PostgresArrayLiteral.decimals(bids.map(\.targetROAS)),
            PostgresArrayLiteral.decimals(bids.map(\.adjustedCPC)),
        ]
    }

    /// The plain statement unless some bid in the batch carries an idempotency key.
    static func statement(for batch: [BidWriter.Pending]) -> Statement {
        let bids = batch.map(\.bid)
        var parameters = columns(bids)
        guard batch.contains(where: { $0.idempotencyKey != nil }) else {
            return Statement(sql: plainSQL, parameters: parameters)
        }
        parameters.append(PostgresArrayLiteral.text(batch.map(\.idempotencyKey)))
        parameters.append(
            PostgresArrayLiteral.text(batch.map { $0.idempotencyKey == nil ? nil : canonicalRequest($0.bid) }))
        return Statement(sql: keyedSQL, parameters: parameters)
    }

    /// What "the same request" means for a repeated key: the three fields exactly as received.
    static func canonicalRequest(_ bid: BidRequest) -> String {
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

/// PostgreSQL array literals for `unnest($1::…[])` parameters.
enum PostgresArrayLiteral {
    /// `{1.5,2}`: decimal text needs no quoting inside an array literal.
    static func decimals(_ values: [FixedDecimal]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(values.count * 8 + 2)
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            value.appendText(to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `{"a","b\"c",NULL}`: every element quoted, `"` and `\` escaped, nil as NULL.
    static func text(_ values: [String?]) -> String {
        var literal = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { literal += "," }
            guard let value else {
                literal += "NULL"
                continue
            }
            literal += "\""
            for character in value {
                if character == "\"" || character == "\\" { literal += "\\" }
                literal.append(character)
            }
            literal += "\""
        }
        return literal + "}"
    }
}
