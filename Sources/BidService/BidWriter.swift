public import BidCore
public import Postgres

/// Records bids on one event loop's connection with adaptive batching.
///
/// A bid that arrives while no write is in flight goes out at once (one round trip, no waiting
/// for company); bids that arrive during a write wait for it and go together in the next
/// statement, one commit for all. Throughput therefore grows with load while a lone request
/// pays a single round trip. A bid is acknowledged only when the statement that carries it has
/// committed. Loop-thread only.
public final class BidWriter {
    public enum WriteError: Error, Sendable, Equatable {
        /// Too many bids already waiting on this loop: shed load rather than queue without bound.
        case overloaded
        /// The database did not confirm the write (down, timed out, or refused it).
        case databaseUnavailable(String)
    }

    public typealias Completion = (Result<Int64, WriteError>) -> Void

    /// Observes batches (for metrics): size, and the round-trip time of the statement.
    public var onBatchFinished: ((_ size: Int, _ roundTrip: Duration, _ succeeded: Bool) -> Void)?

    private struct Pending {
        let bid: BidRequest
        let completion: Completion
    }

    private let connection: PostgresConnection
    private let maxBatch: Int
    private let maxPending: Int
    private var waiting: [Pending] = []
    private var writeInFlight = false

    public init(connection: PostgresConnection, maxBatch: Int = 512, maxPending: Int = 8192) {
        self.connection = connection
        self.maxBatch = maxBatch
        self.maxPending = maxPending
    }

    /// Bids accepted and not yet answered.
    public var pendingCount: Int { waiting.count }

    public func submit(_ bid: BidRequest, completion: @escaping Completion) {
        guard waiting.count < maxPending else {
            completion(.failure(.overloaded))
            return
        }
        waiting.append(Pending(bid: bid, completion: completion))
        if !writeInFlight { writeNextBatch() }
    }

    private func writeNextBatch() {
        guard !waiting.isEmpty else { return }
        let batch: [Pending]
        if waiting.count <= maxBatch {
            batch = waiting
            waiting.removeAll(keepingCapacity: true)
        } else {
            batch = Array(waiting.prefix(maxBatch))
            waiting.removeFirst(maxBatch)
        }
        writeInFlight = true
        let started = ContinuousClock.now
        connection.query(BidInsert.sql, BidInsert.parameters(for: batch.map(\.bid))) { [weak self] outcome in
            self?.finish(batch, outcome: outcome, started: started)
        }
    }

    private func finish(_ batch: [Pending], outcome: Result<PostgresResult, PostgresError>, started: ContinuousClock.Instant) {
        writeInFlight = false
        let ids = outcome.flatMap { BidInsert.ids(from: $0, expected: batch.count) }
        onBatchFinished?(batch.count, started.duration(to: .now), (try? ids.get()) != nil)
        switch ids {
        case .success(let ids):
            for (pending, id) in zip(batch, ids) { pending.completion(.success(id)) }
        case .failure(let error):
            for pending in batch { pending.completion(.failure(.databaseUnavailable(error.description))) }
        }
        writeNextBatch()
    }
}

/// The batch statement and its parameters.
///
/// Ids come from the sequence inside the same statement and are returned in input order
/// (`WITH ORDINALITY`), so mapping them back to requests relies on nothing undocumented —
/// not on the order of `INSERT … RETURNING`.
enum BidInsert {
    static let sql = """
        WITH input AS MATERIALIZED (
            SELECT nextval(pg_get_serial_sequence('bids', 'id')) AS id, t.*
            FROM unnest($1::numeric[], $2::numeric[], $3::numeric[], $4::numeric[])
                 WITH ORDINALITY AS t(product_id, current_cpc, target_roas, adjusted_cpc, ordinal)
        ), inserted AS (
            INSERT INTO bids (id, product_id, current_cpc, target_roas, adjusted_cpc)
            SELECT id, product_id, current_cpc, target_roas, adjusted_cpc FROM input
        )
        SELECT id FROM input ORDER BY ordinal
        """

    /// Four PostgreSQL array literals (`{1.5,2}`): decimal text needs no quoting inside them.
    static func parameters(for bids: [BidRequest]) -> [String?] {
        var columns: [[UInt8]] = Array(repeating: [UInt8(ascii: "{")], count: 4)
        for (index, bid) in bids.enumerated() {
            let values = [bid.productID, bid.currentCPC, bid.targetROAS, bid.adjustedCPC]
            for column in 0..<4 {
                if index > 0 { columns[column].append(UInt8(ascii: ",")) }
                values[column].appendText(to: &columns[column])
            }
        }
        return columns.map { bytes in String(decoding: bytes + [UInt8(ascii: "}")], as: UTF8.self) }
    }

    static func ids(from result: PostgresResult, expected: Int) -> Result<[Int64], PostgresError> {
        let ids = result.rows.compactMap { $0.first.flatMap { $0 }.flatMap { Int64($0) } }
        guard ids.count == expected else {
            return .failure(PostgresError(.query, "batch insert returned \(ids.count) ids for \(expected) bids"))
        }
        return .success(ids)
    }
}
