import Foundation
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

/// Stops a private PostgreSQL under load and starts it again: bids get a fast 503 (never a hang,
/// never a 200 for an unrecorded bid), and the service recovers without a restart.
@Suite(.serialized) struct DatabaseOutagePostgresTests {
    @Test func outageGivesFast503AndTheServiceRecoversByItself() throws {
        let scratch = try ScratchCluster(name: "outage", port: 5499)
        defer { scratch.remove() }
        let cluster = scratch.cluster
        let harness = try ServiceHarness(database: "unused", connectionString: cluster.connectionString) {
            $0.databaseTimeout = .milliseconds(500)
        }
        let client = try harness.client()
        let body = #"{"product_id":1,"current_cpc":2,"target_roas":100}"#
        var acknowledged: Set<String> = []
        func post() throws -> (status: Int, elapsed: Duration, retryAfter: String?) {
            let started = ContinuousClock.now
            let response = try harness.postBid(body, client: client)
            if response.status == 200, case .number(let id)? = response.json?["bid_id"] { acknowledged.insert(id) }
            return (response.status, started.duration(to: .now), response.header("Retry-After"))
        }
        for _ in 0..<20 { #expect(try post().status == 200) }

        try cluster.forceStop(mode: "fast")
        for _ in 0..<10 {
            let outcome = try post()
            #expect(outcome.status == 503)
            #expect(outcome.retryAfter == "1")
            #expect(outcome.elapsed < .milliseconds(1500), "a 503 must be fast, took \(outcome.elapsed)")
        }
        let ready = try client.request("GET", "/readyz")
        #expect(ready.status == 503)

        try cluster.restart()
        // Recovery: reconnects happen in the background with capped backoff (≤ 2 s).
        let deadline = ContinuousClock.now + .seconds(10)
        var recovered = false
        while ContinuousClock.now < deadline {
            if try post().status == 200 {
                recovered = true
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(recovered)
        for _ in 0..<20 { #expect(try post().status == 200) }

        // Every acknowledged bid is in the table, and nothing that was refused.
        let session = try PostgresSession(connectionString: cluster.connectionString)
        let stored = Set(try session.execute("SELECT id::text FROM bids").rows.compactMap { $0[0] })
        #expect(stored == acknowledged)
    }
}
