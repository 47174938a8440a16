import Foundation
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

@testable import BidService

/// Bulk requests while the database stops or stalls mid-request: a fast 503, and every request's
/// items are stored all together or not at all.
@Suite(.serialized) struct BulkBidOutagePostgresTests {
    /// 100 items, all with `product_id` = `request`, so rows can be counted per request.
    static func body(request: Int) -> String {
        let item = #"{"product_id":\#(request),"current_cpc":"1.25","target_roas":200}"#
        return #"{"bids":["# + Array(repeating: item, count: 100).joined(separator: ",") + "]}"
    }

    @Test func stoppingTheDatabaseMidRequestStoresEachRequestWholeOrNotAtAll() throws {
        let scratch = try ScratchCluster(name: "bulk-outage", port: 5497)
        defer { scratch.remove() }
        let cluster = scratch.cluster
        let harness = try ServiceHarness(database: "unused", connectionString: cluster.connectionString) {
            $0.databaseTimeout = .milliseconds(500)
        }
        let port = harness.port
        // Four clients send bulk requests back to back while the cluster is stopped under them.
        // Threads, not tasks: the clients block, and the stop must not wait for a free task thread.
        typealias Outcome = (request: Int, status: Int, elapsed: Duration)
        let collected = NSLock()
        nonisolated(unsafe) var outcomes: [Outcome] = []
        nonisolated(unsafe) var failures: [String] = []
        let finished = DispatchGroup()
        for worker in 0..<4 {
            finished.enter()
            Thread.detachNewThread {
                defer { finished.leave() }
                var mine: [Outcome] = []
                do {
                    let client = try TestHTTPClient(port: port)
                    let stopAt = ContinuousClock.now + .seconds(3)
                    var sequence = 0
                    while ContinuousClock.now < stopAt {
                        let request = 1 + worker + 4 * sequence
                        sequence += 1
                        let started = ContinuousClock.now
                        let response = try client.request(
                            "POST", "/api/bids/batch", headers: [("Content-Type", "application/json")],
                            body: Array(Self.body(request: request).utf8))
                        mine.append((request, response.status, started.duration(to: .now)))
                    }
                } catch {
                    collected.withLock { failures.append("\(error)") }
                }
                collected.withLock { outcomes += mine }
            }
        }
        Thread.sleep(forTimeInterval: 0.7)
        try cluster.forceStop(mode: "fast")
        Thread.sleep(forTimeInterval: 0.8)
        try cluster.restart()
        finished.wait()
        #expect(failures.isEmpty, "\(failures)")
        let statuses = Set(outcomes.map(\.status))
        #expect(statuses.isSubset(of: [200, 503]), "statuses \(statuses)")
        #expect(outcomes.contains { $0.status == 503 }, "the outage was not seen")
        #expect(outcomes.contains { $0.status == 200 })
        for outcome in outcomes where outcome.status == 503 {
            #expect(outcome.elapsed < .milliseconds(1500), "a 503 must be fast, took \(outcome.elapsed)")
        }
        let session = try PostgresSession(connectionString: cluster.connectionString)
        var perRequest: [Int: Int] = [:]
        for row in try session.execute("SELECT product_id::int, count(*) FROM bids GROUP BY 1").rows {
            perRequest[Int(row[0] ?? "") ?? -1] = Int(row[1] ?? "") ?? -1
        }
        // Acknowledged: all 100 rows. Refused: none, or (a 503 that raced the commit) all 100. Never part.
        for outcome in outcomes {
            let stored = perRequest[outcome.request] ?? 0
            if outcome.status == 200 {
                #expect(stored == 100, "request \(outcome.request) acknowledged with \(stored) rows")
            } else {
                #expect(stored == 0 || stored == 100, "request \(outcome.request) half-stored: \(stored) rows")
            }
        }
        #expect(perRequest.values.allSatisfy { $0 == 100 })
    }

    @Test func aStalledCommitAnswers503InTimeAndARetryWithTheKeyStoresOnce() throws {
        let harness = try ServiceHarness(database: "bulk_stall", threads: 1) {
            $0.databaseTimeout = .milliseconds(400)
        }
        // Another session holds the table: the bulk statement waits inside the database.
        let blocker = try PostgresSession(connectionString: harness.connectionString)
        try blocker.execute("BEGIN")
        try blocker.execute("LOCK TABLE bids IN EXCLUSIVE MODE")
        let started = ContinuousClock.now
        let stalled = try BulkBidPostgresTests.post(harness, Self.body(request: 9), key: "stall-1")
        let elapsed = started.duration(to: .now)
        #expect(stalled.status == 503)
        #expect(stalled.header("Retry-After") == "1")
        #expect(elapsed >= .milliseconds(350) && elapsed < .milliseconds(1200), "503 after \(elapsed)")
        try blocker.execute("ROLLBACK")
        // The outcome of a timed-out request is unknown to the server too; the retry settles it:
        // whichever way the first attempt ended, the request's 100 bids exist exactly once.
        var retry = try BulkBidPostgresTests.post(harness, Self.body(request: 9), key: "stall-1")
        let deadline = ContinuousClock.now + .seconds(5)
        while retry.status == 503, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            retry = try BulkBidPostgresTests.post(harness, Self.body(request: 9), key: "stall-1")
        }
        #expect(retry.status == 200)
        #expect(BulkBidPostgresTests.ids(retry).compactMap { $0 }.count == 100)
        let stored = Set(
            try harness.session.execute("SELECT id FROM bids").rows.compactMap { $0[0].flatMap { Int64($0) } })
        #expect(stored == Set(BulkBidPostgresTests.ids(retry).compactMap { $0 }))
    }
}
