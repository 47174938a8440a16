import BidCore
import Foundation
import HTTPTestSupport
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

/// `Idempotency-Key` on `POST /api/bid`, over real sockets against real PostgreSQL.
@Suite(.serialized) struct IdempotencyPostgresTests {
    private let body = #"{"product_id":5,"current_cpc":"1.50","target_roas":150}"#

    private func post(_ harness: ServiceHarness, key: String?, body: String? = nil, client: TestHTTPClient? = nil)
        throws -> TestResponse
    {
        var headers = [("Content-Type", "application/json")]
        if let key { headers.append(("Idempotency-Key", key)) }
        return try (client ?? harness.client()).request(
            "POST", "/api/bid", headers: headers, body: Array((body ?? self.body).utf8))
    }

    @Test func aRepeatReturnsTheOriginalAndStoresNothing() throws {
        let harness = try ServiceHarness(database: "idem_repeat")
        let first = try post(harness, key: "order-1")
        let again = try post(harness, key: "order-1")
        #expect(first.status == 200 && again.status == 200)
        #expect(again.text == first.text)
        #expect(first.text.hasSuffix(#","adjusted_cpc":2.25}"#))
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(first.header("Idempotent-Replayed") == nil)
        #expect(try harness.count() == 1)
        #expect(try harness.count("idempotency_keys") == 1)
        // Without a key every request is a new bid.
        _ = try post(harness, key: nil)
        _ = try post(harness, key: nil)
        #expect(try harness.count() == 3)
    }

    @Test func theSameKeyWithAnotherBodyIsRefused() throws {
        let harness = try ServiceHarness(database: "idem_conflict")
        #expect(try post(harness, key: "k").status == 200)
        let other = try post(harness, key: "k", body: #"{"product_id":5,"current_cpc":"1.5","target_roas":150}"#)
        #expect(other.status == 422)
        #expect(other.text == #"{"error":"Idempotency-Key was already used with a different request body"}"#)
        #expect(try harness.count() == 1)
    }

    @Test func badKeysAreRejectedBeforeAnythingIsStored() throws {
        let harness = try ServiceHarness(database: "idem_bad_keys")
        #expect(try post(harness, key: String(repeating: "x", count: 256)).status == 400)
        #expect(try post(harness, key: "has space").status == 400)
        #expect(try post(harness, key: String(repeating: "x", count: 255)).status == 200)
        #expect(try harness.count() == 1)
    }

    @Test func concurrentRepeatsAcrossLoopsYieldOneBid() async throws {
        let harness = try ServiceHarness(database: "idem_concurrent", threads: 2)
        let port = harness.port
        let body = self.body
        for round in 0..<5 {
            let key = "burst-\(round)"
            let answers = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        let client = try TestHTTPClient(port: port)
                        let response = try client.request(
                            "POST", "/api/bid",
                            headers: [("Content-Type", "application/json"), ("Idempotency-Key", key)],
                            body: Array(body.utf8))
                        guard response.status == 200 else {
                            throw TestFailure("status \(response.status): \(response.text)")
                        }
                        return response.text
                    }
                }
                var all: [String] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            #expect(Set(answers).count == 1)
        }
        #expect(try harness.count() == 5)
    }

    @Test func keysSurviveARestart() throws {
        let url = try TestDatabase.fresh("idem_restart")
        let first = try post(try ServiceHarness(database: "", connectionString: url), key: "survivor")
        let harness = try ServiceHarness(database: "", connectionString: url)
        let again = try post(harness, key: "survivor")
        #expect(again.status == 200)
        #expect(again.text == first.text)
        #expect(try harness.count() == 1)
    }

    @Test func expiredKeysAreSweptAndThenMeanANewBid() throws {
        let harness = try ServiceHarness(database: "idem_expiry") {
            $0.idempotencyRetention = .seconds(1)
            $0.idempotencySweepInterval = .milliseconds(200)
        }
        let first = try post(harness, key: "short-lived")
        try harness.session.execute("UPDATE idempotency_keys SET created_at = now() - interval '1 hour'")
        let deadline = ContinuousClock.now + .seconds(10)
        while try harness.count("idempotency_keys") > 0, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(try harness.count("idempotency_keys") == 0)
        let later = try post(harness, key: "short-lived")
        #expect(later.status == 200)
        #expect(later.text != first.text)
        #expect(try harness.count() == 2)
    }
}
