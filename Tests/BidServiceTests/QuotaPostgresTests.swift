import BidCore
import Foundation
import HTTPTestSupport
import Postgres
import PostgresTestSupport
import ServiceTestSupport
import Testing

@testable import BidService

/// Per-key quotas over real sockets against real PostgreSQL: the 429 and its fields, a bulk
/// request larger than what is left (nothing stored), an `Idempotency-Key` replay (it counts),
/// and the counters by key. Rates of 1 bid/s keep the refill during a test below one bid.
@Suite(.serialized) struct QuotaPostgresTests {
    private static let bid = Array(#"{"product_id":9,"current_cpc":1,"target_roas":100}"#.utf8)

    private static func keys() -> APIKeys {
        APIKeys([
            APIKey(
                secret: "limited-secret",  // pragma: allowlist secret
                name: "limited", quota: Quota(rate: 1, burst: 3)),
            APIKey(secret: "bulk-secret", quota: Quota(rate: 1, burst: 5)),  // pragma: allowlist secret
            APIKey(secret: "free-secret", name: "free"),  // pragma: allowlist secret
        ])
    }

    private static func post(
        _ client: TestHTTPClient, _ path: String = "/api/bid", key: String, body: [UInt8] = bid,
        idempotencyKey: String? = nil
    ) throws -> TestResponse {
        var headers = [("Content-Type", "application/json"), ("Authorization", "Bearer \(key)")]
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        return try client.request("POST", path, headers: headers, body: body)
    }

    private static func batch(_ count: Int) -> [UInt8] {
        let items = (0..<count).map { #"{"product_id":\#($0 + 1),"current_cpc":1,"target_roas":100}"# }
        return Array(#"{"bids":[\#(items.joined(separator: ","))]}"#.utf8)
    }

    @Test func overQuotaIsA429WithRetryAfterAndRateLimitFieldsAndNothingStored() throws {
        let harness = try ServiceHarness(database: "quota_single") { $0.apiKeys = Self.keys() }
        let client = try harness.client()
        let policy = #""limited";q=1;w=1;bidengine-burst=3"#
        for (remaining, reset) in [(2, 1), (1, 2), (0, 3)] {
            let ok = try Self.post(client, key: "limited-secret")
            #expect(ok.status == 200)
            #expect(ok.header("RateLimit-Policy") == policy)
            #expect(ok.header("RateLimit") == #""limited";r=\#(remaining);t=\#(reset)"#)
        }
        let refused = try Self.post(client, key: "limited-secret")
        #expect(refused.status == 429)
        #expect(refused.header("Content-Type") == "application/json")
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.header("RateLimit-Policy") == policy)
        #expect(refused.header("RateLimit") == #""limited";r=0;t=1"#)
        #expect(
            refused.json?["error"]
                == .string(
                    "rate limit exceeded for key 'limited' (1 bids/s, burst 3): 1 bids asked, 0 left; nothing was stored"
                ))
        // A key without a quota is not limited and carries no RateLimit fields.
        for _ in 0..<5 {
            let free = try Self.post(client, key: "free-secret")
            #expect(free.status == 200)
            #expect(free.header("RateLimit") == nil)
        }
        #expect(try harness.count() == 8)
        // Counters by key name, the 429 among them; no secret in the exposition.
        let metrics = try client.request("GET", "/metrics").text
        #expect(metrics.contains(#"bidengine_api_requests_total{key="limited"} 4"#), "\(metrics)")
        #expect(metrics.contains(#"bidengine_api_bids_stored_total{key="limited"} 3"#))
        #expect(metrics.contains(#"bidengine_api_throttled_total{key="limited"} 1"#))
        #expect(metrics.contains(#"bidengine_api_bids_stored_total{key="free"} 5"#))
        #expect(!metrics.contains("secret"))
    }

    @Test func aBulkRequestLargerThanWhatIsLeftIsRefusedWholeAndStoresNothing() throws {
        let harness = try ServiceHarness(database: "quota_bulk") { $0.apiKeys = Self.keys() }
        let client = try harness.client()
        let name = APIKey.anonymousName("bulk-secret")
        let first = try Self.post(client, BulkBidRoutes.path, key: "bulk-secret", body: Self.batch(3))
        #expect(first.status == 200)
        #expect(first.header("RateLimit") == #""\#(name)";r=2;t=3"#)
        #expect(try harness.count() == 3)
        // Three more asked, two left: refused whole.
        let refused = try Self.post(client, BulkBidRoutes.path, key: "bulk-secret", body: Self.batch(3))
        #expect(refused.status == 429)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.header("RateLimit") == #""\#(name)";r=2;t=1"#)
        #expect(try harness.count() == 3)
        // More than the burst can never pass whole: the answer says so.
        let tooLarge = try Self.post(client, BulkBidRoutes.path, key: "bulk-secret", body: Self.batch(6))
        #expect(tooLarge.status == 429)
        #expect(
            tooLarge.json?["error"]
                == .string("6 bids is more than the burst of key '\(name)' (5): send at most 5 per request"))
        #expect(try harness.count() == 3)
        // What is left still passes.
        #expect(try Self.post(client, BulkBidRoutes.path, key: "bulk-secret", body: Self.batch(2)).status == 200)
        #expect(try harness.count() == 5)
    }

    /// Replays count: the quota is checked before the database tells a replay from a new bid.
    @Test func anIdempotencyKeyReplayCountsAgainstTheQuota() throws {
        let harness = try ServiceHarness(database: "quota_replay") { $0.apiKeys = Self.keys() }
        let client = try harness.client()
        let original = try Self.post(client, key: "limited-secret", idempotencyKey: "order-1")
        #expect(original.status == 200)
        #expect(original.header("RateLimit") == #""limited";r=2;t=1"#)
        let replay = try Self.post(client, key: "limited-secret", idempotencyKey: "order-1")
        #expect(replay.status == 200)
        #expect(replay.header("Idempotent-Replayed") == "true")
        #expect(replay.body == original.body)
        #expect(replay.header("RateLimit") == #""limited";r=1;t=2"#)
        #expect(try Self.post(client, key: "limited-secret", idempotencyKey: "order-1").status == 200)
        #expect(try Self.post(client, key: "limited-secret", idempotencyKey: "order-1").status == 429)
        #expect(try harness.count() == 1)
    }

    /// A 400 costs nothing: only bids that passed validation count.
    @Test func invalidBidsDoNotCount() throws {
        let harness = try ServiceHarness(database: "quota_invalid") { $0.apiKeys = Self.keys() }
        let client = try harness.client()
        for _ in 0..<5 {
            #expect(try Self.post(client, key: "limited-secret", body: Array(#"{"product_id":0}"#.utf8)).status == 400)
        }
        #expect(try Self.post(client, key: "limited-secret").header("RateLimit") == #""limited";r=2;t=1"#)
    }
}

/// The key's name in the access log of a real `bidengine serve`, and never the key.
@Suite(.serialized) struct KeyAccessLogPostgresTests {
    @Test func everyAccessLogLineOfAnAuthenticatedRequestNamesItsKey() throws {
        let url = try TestDatabase.fresh("quota_access_log")
        let path = NSTemporaryDirectory() + "bidengine-access-keys-\(UInt32.random(in: 0...UInt32.max))"
        try "web-secret-1 name=web rate=100\nother-secret-2\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let server = try CommandProcess(
            ["serve", "--port", "0", "--threads", "1", "--migrations-dir", ServiceHarness.migrationsDirectory],
            environment: ["DATABASE_URL": url, "BIDENGINE_API_KEYS_FILE": path, "LOG_LEVEL": "info"])
        #expect(server.waitForOutput(#""msg":"serving""#, within: .seconds(60)), "\(server.stderr)")
        let serving = try #require(server.stderr.split(separator: "\n").first { $0.contains(#""serving""#) })
        let address = try #require(serving.firstRange(of: #""address":"127.0.0.1:"#))
        let port = try #require(Int(serving[address.upperBound...].prefix { $0.isNumber }))
        let client = try TestHTTPClient(port: port)
        let json = ("Content-Type", "application/json")
        let bid = Array(#"{"product_id":9,"current_cpc":1,"target_roas":100}"#.utf8)
        #expect(
            try client.request(
                "POST", "/api/bid", headers: [json, ("Authorization", "Bearer web-secret-1")], body: bid
            )
            .status == 200)
        #expect(
            try client.request(
                "POST", "/api/bid", headers: [json, ("Authorization", "Bearer other-secret-2")], body: bid
            )
            .status == 200)
        #expect(server.waitForOutput(APIKey.anonymousName("other-secret-2"), within: .seconds(10)))
        let access = server.stderr.split(separator: "\n").filter { $0.contains(#""type":"access""#) }
        #expect(access.count == 2, "\(server.stderr)")
        #expect(access.first?.contains(#""key":"web""#) == true, "\(access)")
        #expect(access.last?.contains(#""key":"\#(APIKey.anonymousName("other-secret-2"))""#) == true, "\(access)")
        #expect(!server.stderr.contains("secret-"), "\(server.stderr)")
        server.signal(SIGTERM)
        #expect(server.waitForExit(within: .seconds(20)) == 0)
    }
}
