import BidCore
import Foundation
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

@testable import BidService

/// The request-smuggling cases of docs/http-edge.md against the real service and real PostgreSQL:
/// the bid hidden behind a mis-framed message is never stored, and the refusal is JSON.
@Suite(.serialized) struct SmugglingPostgresTests {
    static let bid = #"{"product_id":5,"current_cpc":"1.50","target_roas":150}"#
    static let hidden =
        "POST /api/bid HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: \(bid.utf8.count)\r\n\r\n\(bid)"

    /// Sends `bytes`, expects one JSON error with `status`, then the close; and no row.
    static func expectRefused(_ harness: ServiceHarness, _ bytes: String, status: Int) throws {
        let client = try harness.client()
        try client.send(bytes)
        let response = try client.readResponse()
        #expect(response.status == status)
        #expect(response.header("Content-Type") == "application/json")
        guard case .string? = response.json?["error"] else {
            Issue.record("not a JSON error: \(response.text)")
            return
        }
        #expect(response.header("X-Request-ID") != nil)
        #expect(response.header("Connection") == "close")
        #expect(client.readToClose() == [])
        #expect(try harness.count() == 0)
    }

    @Test func theHiddenBidIsNeverStored() throws {
        let harness = try ServiceHarness(database: "smuggle_hidden")
        // 1. Two Content-Length headers: the first would have framed `12345` and left the rest.
        try Self.expectRefused(
            harness,
            "POST /api/bid HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
                + "Content-Length: \(5 + Self.hidden.utf8.count)\r\n\r\n12345" + Self.hidden, status: 400)
        // 2. Unknown codings: the body was counted as empty and ran as a second request.
        for coding in ["gzip", "xchunked", "gzip, chunked"] {
            try Self.expectRefused(
                harness, "POST /api/bid HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \(coding)\r\n\r\n" + Self.hidden,
                status: 501)
        }
        try Self.expectRefused(
            harness,
            "POST /api/bid HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + Self.hidden, status: 400)
        // 4. CONNECT: answered with a length and closed, not left open for the idle timeout.
        try Self.expectRefused(harness, "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n" + Self.hidden, status: 501)
    }

    @Test func aNulInAnIdempotencyKeyIsRefusedNotCut() throws {
        let harness = try ServiceHarness(database: "smuggle_nul")
        try Self.expectRefused(
            harness,
            "POST /api/bid HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nIdempotency-Key: nul\0tail\r\n"
                + "Content-Length: \(Self.bid.utf8.count)\r\n\r\n\(Self.bid)", status: 400)
        // A later key `nul` is a new bid, not a replay of anything.
        let response = try harness.client().request(
            "POST", "/api/bid", headers: [("Content-Type", "application/json"), ("Idempotency-Key", "nul")],
            body: Array(Self.bid.utf8))
        #expect(response.status == 200)
        #expect(response.header("Idempotent-Replayed") == nil)
        #expect(try harness.count() == 1)
    }

    @Test func aNulAfterTheAPIKeyIsRefused() throws {
        let harness = try ServiceHarness(database: "smuggle_key") { $0.apiKeys = APIKeys(["k-123"]) }
        try Self.expectRefused(
            harness,
            "POST /api/bid HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer k-123\0xyz\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(Self.bid.utf8.count)\r\n\r\n\(Self.bid)", status: 400)
    }

    @Test func refusalsAreCountedInMetrics() throws {
        let harness = try ServiceHarness(database: "smuggle_metrics")
        let series = #"bidengine_http_requests_total{method="OTHER",route="unmatched",status="501"}"#
        func count() throws -> Int {
            let text = try harness.client().request("GET", "/metrics").text
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(series) }) else { return 0 }
            return Int(line.split(separator: " ").last ?? "") ?? -1
        }
        let before = try count()
        try Self.expectRefused(harness, "PURGE / HTTP/1.1\r\nHost: h\r\n\r\n", status: 501)
        #expect(try count() == before + 1)
    }
}
