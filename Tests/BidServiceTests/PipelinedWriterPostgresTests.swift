import BidCore
import Foundation
import HTTPServer
import JSONRoutes
import Postgres
import PostgresTestSupport
import ServiceSettings
import ServiceTestSupport
import Synchronization
import Testing

@testable import BidService

/// Several statements in flight on one connection (libpq pipeline mode), against real PostgreSQL:
/// each statement is its own transaction, results come back to the right caller, a failing
/// statement fails only itself, and a group of bids commits together or not at all.
@Suite(.serialized) struct PipelinedWriterPostgresTests {
    /// Runs `body` on a fresh loop with a connection to a fresh, migrated database; waits for
    /// `expected` signals on the semaphore it is given.
    private func withConnection(
        _ database: String, maxInFlight: Int, expected: Int,
        _ body: @escaping @Sendable (PostgresConnection, DispatchSemaphore, LoopObjects) -> Void
    ) throws -> PostgresSession {
        let url = try TestDatabase.fresh(database)
        _ = try DatabaseLocator.migrate(
            connectionString: url, migrationsDirectory: ServiceHarness.migrationsDirectory)
        let loop = try EventLoop.startStandalone(name: database)
        defer { loop.stopStandalone() }
        let done = DispatchSemaphore(value: 0)
        let keepAlive = LoopObjects()
        loop.execute {
            var configuration = PostgresConnection.Configuration(connectionString: url)
            configuration.maxInFlight = maxInFlight
            let connection = PostgresConnection(configuration: configuration, reactor: LoopReactor(loop: loop))
            keepAlive.objects = [connection]
            connection.start()
            body(connection, done, keepAlive)
        }
        for _ in 0..<expected { #expect(done.wait(timeout: .now() + 20) == .success) }
        loop.execute {
            for case let connection as PostgresConnection in keepAlive.objects { connection.close() }
            keepAlive.objects = []
        }
        return try PostgresSession(connectionString: url)
    }

    @Test func statementsInFlightTogetherFailAlone() throws {
        let results = Mutex<[Int: Result<PostgresResult, PostgresError>]>([:])
        _ = try withConnection("pipeline_alone", maxInFlight: 4, expected: 4) { connection, done, _ in
            // Queued while connecting, so all four go out together once connected.
            let statements = [
                "SELECT 1", "SELECT 1 / 0",
                "INSERT INTO bids (product_id, current_cpc, target_roas, adjusted_cpc) VALUES (1, 1, 150, 1.5)",
                "SELECT count(*) FROM bids",
            ]
            for (index, sql) in statements.enumerated() {
                connection.query(sql) { result in
                    results.withLock { $0[index] = result }
                    done.signal()
                }
            }
        }
        let answered = results.withLock { $0 }
        #expect((try? answered[0]?.get())?.rows == [["1"]])
        guard case .failure(let error)? = answered[1] else {
            Issue.record("division by zero must fail its own statement: \(String(describing: answered[1]))")
            return
        }
        #expect(error.sqlState == "22012")
        #expect((try? answered[2]?.get())?.affectedRows == 1)
        // Its own transaction: the insert before it committed, the failure after it undid nothing.
        #expect((try? answered[3]?.get())?.rows == [["1"]])
    }

    @Test func aGroupCommitsTogetherAndAKeyedRepeatStoresNothing() throws {
        let outcomes = Mutex<[String: Result<[BidWriter.Recorded], BidWriter.WriteError>]>([:])
        let singles = Mutex<[Result<BidWriter.Recorded, BidWriter.WriteError>]>([])
        let group = [Self.bid(1), Self.bid(2), Self.bid(3)]
        let session = try withConnection("pipeline_groups", maxInFlight: 6, expected: 5) { connection, done, keep in
            let writer = BidWriter(connection: connection, maxBatch: 4, maxInFlight: 2)
            keep.objects.append(writer)
            let record = { (name: String) in
                { (result: Result<[BidWriter.Recorded], BidWriter.WriteError>, _: WriteTiming) in
                    outcomes.withLock { $0[name] = result }
                    done.signal()
                }
            }
            writer.submit(group: group, idempotencyKey: "bulk-1", completion: record("first"))
            writer.submit(Self.bid(9)) { result, _ in
                singles.withLock { $0.append(result) }
                done.signal()
            }
            // Same key, same bids: replayed, nothing stored. Same key, other bids: refused.
            writer.submit(group: group, idempotencyKey: "bulk-1", completion: record("repeat"))
            writer.submit(group: [Self.bid(1)], idempotencyKey: "bulk-1", completion: record("other"))
            // Larger than maxBatch: goes alone, never split.
            writer.submit(group: (10..<16).map { Self.bid($0) }, completion: record("large"))
        }
        let results = outcomes.withLock { $0 }
        #expect(results.count == 4)
        let stored = try #require(try? results["first"]?.get())
        #expect(stored.count == 3)
        let ids = stored.compactMap { recorded -> Int64? in
            if case .stored(let id) = recorded { return id }
            return nil
        }
        #expect(ids.count == 3)
        // A repeat answers every bid of the group with its original id (a replayed bulk request).
        let replayedIDs = (try? results["repeat"]?.get())?.compactMap { recorded -> Int64? in
            if case .replayed(let id, _) = recorded { return id }
            return nil
        }
        #expect(replayedIDs == ids)
        #expect((try? results["repeat"]?.get())?.first == .replayed(bidID: ids[0], adjustedCPC: "2.25"))
        #expect(results["other"] == .failure(.keyReusedWithDifferentRequest))
        #expect((try? results["large"]?.get())?.count == 6)
        #expect(singles.withLock { $0.count } == 1)
        #expect(try session.execute("SELECT count(*) FROM bids").scalar == "10")
        // The three bids of the keyed group share one transaction (one calculated_at).
        let idList = ids.map(String.init).joined(separator: ",")
        #expect(
            try session.execute("SELECT count(DISTINCT calculated_at) FROM bids WHERE id IN (\(idList))").scalar == "1")
        #expect(try session.execute("SELECT count(*) FROM idempotency_keys").scalar == "1")
    }

    private static func bid(_ productID: Int) -> PricedBid {
        guard
            case .success(let bid) = PricedBid.parse(
                body: Array(#"{"product_id":\#(productID),"current_cpc":"1.50","target_roas":"150"}"#.utf8))
        else { fatalError("test bid must be valid") }
        return bid
    }
}
