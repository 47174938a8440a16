import BidCore
import Foundation
import HTTPTestSupport
import ServiceTestSupport
import Testing

@testable import BidService

/// API keys, health, metrics and request ids, over real sockets against real PostgreSQL.
@Suite(.serialized) struct OperationsPostgresTests {
    private let bid = #"{"product_id":9,"current_cpc":1,"target_roas":100}"#

    @Test func apiKeysGuardEveryAPIRouteButNotProbes() throws {
        let harness = try ServiceHarness(database: "ops_keys") { $0.apiKeys = APIKeys(["alpha", "beta-key"]) }
        let client = try harness.client()
        let json = ("Content-Type", "application/json")

        let missing = try client.request("POST", "/api/bid", headers: [json], body: Array(bid.utf8))
        #expect(missing.status == 401)
        #expect(missing.header("WWW-Authenticate") == #"Bearer realm="bidengine""#)
        for wrong in ["Bearer alph", "Bearer alphaa", "Basic alpha", "Bearer ", "alpha"] {
            #expect(
                try client.request(
                    "POST", "/api/bid", headers: [json, ("Authorization", wrong)], body: Array(bid.utf8)
                ).status == 401)
        }
        #expect(
            try client.request(
                "POST", "/api/bid", headers: [json, ("Authorization", "Bearer beta-key")], body: Array(bid.utf8)
            ).status == 200)
        #expect(
            try client.request(
                "POST", "/api/bid", headers: [json, ("Authorization", "bearer alpha")], body: Array(bid.utf8)
            ).status == 200)
        #expect(try client.request("GET", "/healthz").status == 200)
        #expect(try client.request("GET", "/readyz").status == 200)
        #expect(try client.request("GET", "/metrics").status == 200)
        #expect(try harness.count() == 2)
    }

    @Test func keysComeFromTheEnvironmentOrAFile() throws {
        let path = FileManager.default.temporaryDirectory.path + "/bidengine-keys-\(getpid())"
        try "one\ntwo,three\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        // pragma: allowlist nextline secret (a test key)
        let keys = try APIKeys.load(environment: ["BIDENGINE_API_KEYS": "zero", "BIDENGINE_API_KEYS_FILE": path])
        #expect(keys.count == 4)
        #expect(keys.accepts(authorization: "Bearer three"))
        #expect(!keys.accepts(authorization: "Bearer four"))
        #expect(throws: ConfigurationError.self) {
            try APIKeys.load(environment: ["BIDENGINE_API_KEYS_FILE": "/nonexistent/keys"])
        }
    }

    @Test func requestIDsAreEchoedWhenSaneAndGeneratedOtherwise() throws {
        let harness = try ServiceHarness(database: "ops_request_id")
        let client = try harness.client()
        #expect(
            try client.request("GET", "/healthz", headers: [("X-Request-ID", "trace-42.a:b_c")]).header("X-Request-ID")
                == "trace-42.a:b_c")
        let injected = try client.request("GET", "/healthz", headers: [("X-Request-ID", "bad id\" with quotes")])
            .header("X-Request-ID")
        #expect(injected?.count == 32 && injected?.allSatisfy(\.isHexDigit) == true)
        let generated = try client.request("GET", "/nope").header("X-Request-ID")
        #expect(generated?.count == 32)
    }

    @Test func metricsCountRequestsByRouteAndStatusAndBatches() throws {
        let harness = try ServiceHarness(database: "ops_metrics")
        let client = try harness.client()
        for _ in 0..<3 { #expect(try harness.postBid(bid, client: client).status == 200) }
        #expect(try harness.postBid("{}", client: client).status == 400)
        let text = try client.request("GET", "/metrics").text
        let lines = text.split(separator: "\n").map(String.init)
        func value(_ prefix: String) -> Double? {
            lines.first { $0.hasPrefix(prefix + " ") }.flatMap { Double($0.split(separator: " ").last!) }
        }
        // Counters are process-wide, so other suites' requests may add to them: at least ours.
        #expect((value(#"bidengine_http_requests_total{method="POST",route="/api/bid",status="200"}"#) ?? 0) >= 3)
        #expect((value(#"bidengine_http_requests_total{method="POST",route="/api/bid",status="400"}"#) ?? 0) >= 1)
        #expect(lines.contains { $0.hasPrefix("bidengine_bid_batch_size_bucket") })
        #expect(lines.contains { $0.hasPrefix(#"bidengine_http_request_duration_seconds_bucket{route="/api/bid""#) })
        #expect(lines.contains { $0.hasPrefix("bidengine_http_requests_in_flight ") })
        #expect(lines.contains { $0.hasPrefix("bidengine_http_open_connections ") })
        #expect(lines.contains { $0.hasPrefix("bidengine_db_connection_failures_total") })
    }

    @Test func metricsCountConnectionsClosedByTimeouts() throws {
        let harness = try ServiceHarness(database: "ops_timeouts", threads: 1) { configuration in
            configuration.requestTimeout = .seconds(1)
            configuration.firstByteTimeout = .seconds(1)
        }
        let scrape = try harness.client()
        func value(_ name: String) throws -> Int? {
            let lines = try scrape.request("GET", "/metrics").text.split(separator: "\n")
            return lines.first { $0.hasPrefix(name + " ") }.flatMap { Int($0.split(separator: " ").last!) }
        }
        // Process-wide counters: compare with what they said before.
        let before = (
            request: try value("bidengine_http_request_timeouts_total") ?? 0,
            firstByte: try value("bidengine_http_first_byte_timeouts_total") ?? 0
        )
        let silent = try harness.client()
        let slow = try harness.client()
        try slow.send("POST /api/bid HTTP/1.1\r\nHost: x\r\n")  // and never the rest
        #expect(silent.waitForClose())
        #expect(slow.waitForClose())
        #expect(try value("bidengine_http_request_timeouts_total") == before.request + 1)
        #expect(try value("bidengine_http_first_byte_timeouts_total") == before.firstByte + 1)
    }
}
