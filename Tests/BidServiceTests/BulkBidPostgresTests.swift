import BidCore
import Foundation
import HTTPTestSupport
import Postgres
import ServiceTestSupport
import Testing

@testable import BidService

/// `POST /api/bids/batch` over real sockets against real PostgreSQL.
@Suite(.serialized) struct BulkBidPostgresTests {
    static func post(
        _ harness: ServiceHarness, _ body: String, key: String? = nil, client: TestHTTPClient? = nil,
        contentType: String = "application/json"
    ) throws -> TestResponse {
        var headers = [("Content-Type", contentType)]
        if let key { headers.append(("Idempotency-Key", key)) }
        return try (client ?? harness.client()).request(
            "POST", "/api/bids/batch", headers: headers, body: Array(body.utf8))
    }

    /// The `bid_id`s of a results body, in order (nil for rejected items).
    static func ids(_ response: TestResponse) -> [Int64?] {
        guard case .array(let results)? = response.json?["results"] else { return [] }
        return results.map { result in
            if case .number(let id)? = result["bid_id"] { return Int64(id) }
            return nil
        }
    }

    /// Stored rows by id: `product_id|current_cpc|target_roas|adjusted_cpc`.
    static func rows(_ harness: ServiceHarness) throws -> [Int64: String] {
        var rows: [Int64: String] = [:]
        let result = try harness.session.execute(
            "SELECT id, product_id || '|' || current_cpc || '|' || target_roas || '|' || adjusted_cpc FROM bids")
        for row in result.rows { rows[Int64(row[0] ?? "") ?? -1] = row[1] }
        return rows
    }

    static let mixed = """
        {"bids":[
          {"product_id":1,"current_cpc":"1.50","target_roas":150},
          {"product_id":0,"current_cpc":-1,"target_roas":"abc"},
          5,
          {"product_id":"7","current_cpc":"10","target_roas":"120.1","note":"ignored"},
          {"current_cpc":1},
          [],
          {"product_id":3,"current_cpc":1.005,"target_roas":100}
        ]}
        """

    @Test func resultsAnswerItemsInOrderAndOnlyValidItemsAreStoredInOneCommit() throws {
        let harness = try ServiceHarness(database: "bulk_mixed")
        let response = try Self.post(harness, Self.mixed)
        #expect(response.status == 200)
        let ids = Self.ids(response)
        #expect(ids.count == 7)
        guard ids.count == 7, let a = ids[0], let b = ids[3], let c = ids[6] else { return }
        #expect(
            response.text
                == #"{"results":[{"bid_id":\#(a),"adjusted_cpc":2.25},"#
                + #"{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]},"#
                + #"{"error":"request body must be a JSON object"},{"bid_id":\#(b),"adjusted_cpc":12.01},"#
                + #"{"errors":["Invalid product ID","Invalid target ROAS"]},{"error":"request body must be a JSON object"},"#
                + #"{"bid_id":\#(c),"adjusted_cpc":1.01}],"stored":3,"rejected":4}"#)
        #expect(a < b && b < c)
        // Every acknowledged item has its row, exactly as sent; no rejected item has one.
        #expect(
            try Self.rows(harness) == [a: "1|1.50|150|2.25", b: "7|10|120.1|12.01", c: "3|1.005|100|1.01"])
        // One statement, one transaction: all rows carry the same xmin.
        #expect(try harness.session.execute("SELECT count(DISTINCT xmin::text) FROM bids").scalar == "1")
    }

    @Test func aRejectedItemGetsExactlyTheAnswerOfTheSameBodyAsASingleBid() throws {
        let harness = try ServiceHarness(database: "bulk_same_answers")
        let items = [
            #"{"product_id":0,"current_cpc":-1,"target_roas":"abc"}"#, "5", "null", #""text""#, "[1,2]", "true",
            #"{"product_id":"1e3","current_cpc":"1e40","target_roas":1}"#, #"{"product_id":1,"current_cpc":1}"#,
            #"{"product_id":1,"current_cpc":"99999999999999999999999999999999999","target_roas":"1e10"}"#,
        ]
        let response = try Self.post(harness, #"{"bids":["# + items.joined(separator: ",") + "]}")
        #expect(response.status == 200)
        guard case .array(let results)? = response.json?["results"] else {
            Issue.record("no results: \(response.text)")
            return
        }
        #expect(results.count == items.count)
        for (item, result) in zip(items, results) {
            let single = try harness.postBid(item)
            #expect(single.status == 400)
            #expect(single.json == result, "item \(item)")
        }
        #expect(try harness.count() == 0)
    }

    @Test func atomicStoresAllOrNothing() throws {
        let harness = try ServiceHarness(database: "bulk_atomic")
        let refused = try Self.post(
            harness,
            #"{"atomic":true,"bids":[{"product_id":1,"current_cpc":2,"target_roas":100},{"product_id":1}]}"#)
        #expect(refused.status == 400)
        #expect(
            refused.text
                == #"{"results":[{"adjusted_cpc":2.00},{"errors":["Invalid current CPC","Invalid target ROAS"]}],"#
                + #""stored":0,"rejected":1}"#)
        #expect(try harness.count() == 0)

        let body =
            #"{"bids":[{"product_id":1,"current_cpc":2,"target_roas":100},"#
            + #"{"product_id":2,"current_cpc":3,"target_roas":50}],"atomic":true}"#
        let stored = try Self.post(harness, body)
        #expect(stored.status == 200)
        #expect(Self.ids(stored).compactMap { $0 }.count == 2)
        #expect(stored.text.hasSuffix(#""stored":2,"rejected":0}"#))
        #expect(try harness.count() == 2)

        // Partial mode (the default, or "atomic": false) with nothing valid stores nothing, answers 200.
        let none = try Self.post(harness, #"{"atomic":false,"bids":[{}]}"#)
        #expect(none.status == 200)
        #expect(
            none.text
                == #"{"results":[{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]}],"#
                + #""stored":0,"rejected":1}"#)
        #expect(try harness.count() == 2)
    }

    @Test(arguments: [
        ("not json", "malformed JSON: unexpected character at byte 0"),
        ("[]", #"request body must be a JSON object with a \"bids\" array"#),
        (#"{"bid":[]}"#, #"\"bids\" must be an array of bids"#),
        (#"{"bids":{"product_id":1}}"#, #"\"bids\" must be an array of bids"#),
        (#"{"bids":[]}"#, #"\"bids\" must not be empty"#),
        (#"{"bids":[{}],"atomic":"yes"}"#, #"\"atomic\" must be true or false"#),
        (#"{"bids":[{}],"atomic":null}"#, #"\"atomic\" must be true or false"#),
        (#"{"bids":[{}],"atomic":1}"#, #"\"atomic\" must be true or false"#),
        ("", "request body is empty; expected a JSON object"),
    ])
    func malformedEnvelopesAre400AndStoreNothing(body: String, message: String) throws {
        let harness = try ServiceHarness(database: "bulk_envelope", threads: 1)
        let response = try Self.post(harness, body)
        #expect(response.status == 400)
        #expect(response.text == #"{"error":"\#(message)"}"#)
        #expect(try harness.count() == 0)
        let wrongType = try Self.post(harness, #"{"bids":[{}]}"#, contentType: "text/plain")
        #expect(wrongType.status == 415)
    }

    @Test func limitsAnswer413NamingTheLimit() throws {
        let harness = try ServiceHarness(database: "bulk_limits", threads: 1) {
            $0.maxBulkItems = 3
            $0.maxBulkBodySize = 400
        }
        let item = #"{"product_id":1,"current_cpc":1,"target_roas":100}"#
        let four = try Self.post(
            harness, #"{"bids":["# + Array(repeating: item, count: 4).joined(separator: ",") + "]}")
        #expect(four.status == 413)
        #expect(four.text == #"{"error":"4 bids is more than MAX_BULK_ITEMS (3) in one request"}"#)
        let three = try Self.post(
            harness, #"{"bids":["# + Array(repeating: item, count: 3).joined(separator: ",") + "]}")
        #expect(three.status == 200)
        // Over the route's own body limit (below the server's general one): a JSON 413 decided from
        // Content-Length before the body is read, so the connection closes after it.
        let client = try harness.client()
        let padded = #"{"pad":""# + String(repeating: "x", count: 400) + #"","bids":[{}]}"#
        let large = try Self.post(harness, padded, client: client)
        #expect(large.status == 413)
        #expect(large.text == #"{"error":"request body is larger than MAX_BULK_BODY_SIZE (400 bytes)"}"#)
        #expect(large.header("Connection") == "close")
        #expect(try Self.post(harness, #"{"bids":[\#(item)]}"#).status == 200)
        #expect(try harness.count() == 4)
    }

    @Test func theBulkRouteHasItsOwnBodyLimitAboveTheGeneralOne() throws {
        let harness = try ServiceHarness(database: "bulk_body_limit", threads: 1)
        // 1,000 items of ~100 bytes: above MAX_BODY_SIZE (64 KiB), within MAX_BULK_BODY_SIZE (1 MiB).
        let item =
            #"{"product_id":42,"current_cpc":"1.25","target_roas":200,"comment":""#
            + String(repeating: "c", count: 40) + #""}"#
        let body = #"{"bids":["# + Array(repeating: item, count: 1000).joined(separator: ",") + "]}"
        #expect(body.utf8.count > 65_536)
        let response = try Self.post(harness, body)
        #expect(response.status == 200)
        #expect(response.text.hasSuffix(#""stored":1000,"rejected":0}"#))
        #expect(try harness.count() == 1000)
        #expect(try harness.session.execute("SELECT count(DISTINCT xmin::text) FROM bids").scalar == "1")
        // The general limit still holds for /api/bid, now answered in JSON naming it.
        let huge = #"{"product_id":1,"pad":""# + String(repeating: "x", count: 70_000) + #""}"#
        let single = try harness.postBid(huge)
        #expect(single.status == 413)
        #expect(single.text == #"{"error":"request body is larger than MAX_BODY_SIZE (65536 bytes)"}"#)
        #expect(try harness.count() == 1000)
    }

    @Test func anIdempotentRepeatReturnsTheOriginalResults() throws {
        let harness = try ServiceHarness(database: "bulk_idempotent")
        let first = try Self.post(harness, Self.mixed, key: "batch-1")
        let again = try Self.post(harness, Self.mixed, key: "batch-1")
        #expect(first.status == 200 && again.status == 200)
        #expect(again.text == first.text)
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(first.header("Idempotent-Replayed") == nil)
        #expect(try harness.count() == 3)
        #expect(try harness.count("idempotency_keys") == 1)
        // A different body (here only the mode) with the same key: 422, nothing stored.
        let other = try Self.post(
            harness, Self.mixed.replacingOccurrences(of: #"{"bids""#, with: #"{"atomic":false,"bids""#), key: "batch-1")
        #expect(other.status == 200 && other.text == first.text, "atomic:false is the default: the same request")
        let different = try Self.post(
            harness, #"{"bids":[{"product_id":1,"current_cpc":"1.5","target_roas":150}]}"#, key: "batch-1")
        #expect(different.status == 422)
        #expect(different.text == #"{"error":"Idempotency-Key was already used with a different request body"}"#)
        // Keys are shared with single bids: neither can answer for the other.
        #expect(try harness.postBid(#"{"product_id":1,"current_cpc":"1.50","target_roas":150}"#).status == 200)
        var headers = [("Content-Type", "application/json"), ("Idempotency-Key", "single-1")]
        #expect(
            try harness.client().request(
                "POST", "/api/bid", headers: headers,
                body: Array(#"{"product_id":1,"current_cpc":2,"target_roas":100}"#.utf8)
            ).status == 200)
        #expect(
            try Self.post(harness, #"{"bids":[{"product_id":1,"current_cpc":2,"target_roas":100}]}"#, key: "single-1")
                .status == 422)
        headers[1].1 = "batch-1"
        #expect(
            try harness.client().request(
                "POST", "/api/bid", headers: headers,
                body: Array(#"{"product_id":1,"current_cpc":"1.50","target_roas":150}"#.utf8)
            ).status == 422)
        #expect(try harness.count() == 5)
        #expect(try Self.post(harness, #"{"bids":[{}]}"#, key: "bad key").status == 400)
    }

    @Test func racingRepeatsOnBothLoopsStoreTheRequestOnce() async throws {
        let harness = try ServiceHarness(database: "bulk_race", threads: 2)
        let port = harness.port
        let items = (0..<50).map { #"{"product_id":\#($0 + 1),"current_cpc":"0.\#($0 % 10)1","target_roas":150}"# }
        let body = #"{"bids":["# + items.joined(separator: ",") + "]}"
        for round in 0..<4 {
            let key = "race-\(round)"
            let answers = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        let response = try TestHTTPClient(port: port).request(
                            "POST", "/api/bids/batch",
                            headers: [("Content-Type", "application/json"), ("Idempotency-Key", key)],
                            body: Array(body.utf8))
                        guard response.status == 200 else {
                            throw TestFailure("status \(response.status): \(response.text)")
                        }
                        return (response.text, response.header("Idempotent-Replayed") == "true")
                    }
                }
                var all: [(String, Bool)] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            #expect(Set(answers.map(\.0)).count == 1)
            #expect(answers.filter { !$0.1 }.count == 1, "exactly one request stored, the others replayed")
        }
        #expect(try harness.count() == 4 * 50)
        #expect(try harness.count("idempotency_keys") == 4)
    }

    /// On one loop, keyed bulk requests and keyed single bids arrive together and share the
    /// writer's statements; each keeps its own key, and repeats answer exactly the originals.
    @Test func bulkAndSingleBidsSharingStatementsKeepTheirOwnKeys() async throws {
        let harness = try ServiceHarness(database: "bulk_shared", threads: 1)
        let port = harness.port
        /// Status, body and whether it was marked replayed (`TestResponse` is not `Sendable`).
        typealias Answer = (status: Int, text: String, replayed: Bool)
        func send(_ index: Int) throws -> Answer {
            let bulk = index % 3 == 0
            let body =
                bulk
                ? #"{"bids":[{"product_id":\#(index + 1),"current_cpc":1,"target_roas":100},{"product_id":0},"#
                    + #"{"product_id":\#(index + 1),"current_cpc":"2.5","target_roas":"40"}]}"#
                : #"{"product_id":\#(index + 1),"current_cpc":3,"target_roas":100}"#
            let response = try TestHTTPClient(port: port).request(
                "POST", bulk ? "/api/bids/batch" : "/api/bid",
                headers: [("Content-Type", "application/json"), ("Idempotency-Key", "shared-\(index)")],
                body: Array(body.utf8))
            return (response.status, response.text, response.header("Idempotent-Replayed") == "true")
        }
        func all() async throws -> [Int: Answer] {
            try await withThrowingTaskGroup(of: (Int, Answer).self) { group in
                for index in 0..<48 { group.addTask { (index, try send(index)) } }
                var answers: [Int: Answer] = [:]
                for try await (index, response) in group { answers[index] = response }
                return answers
            }
        }
        let first = try await all()
        #expect(first.values.allSatisfy { $0.status == 200 })
        #expect(first.values.allSatisfy { !$0.replayed })
        let again = try await all()
        for index in 0..<48 {
            #expect(again[index]?.text == first[index]?.text, "request \(index)")
            #expect(again[index]?.replayed == true)
        }
        // 16 bulk requests of 2 stored bids, 32 single bids.
        #expect(try harness.count() == 16 * 2 + 32)
        #expect(try harness.count("idempotency_keys") == 48)
    }

    @Test func metricsCountBulkRequestsAndItems() throws {
        let harness = try ServiceHarness(database: "bulk_metrics", threads: 1)
        let before = try harness.client().request("GET", "/metrics").text
        #expect(try Self.post(harness, Self.mixed).status == 200)
        let after = try harness.client().request("GET", "/metrics").text
        func value(_ text: String, _ name: String) -> Int {
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + " ") }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
        #expect(value(after, "bidengine_bulk_requests_total") - value(before, "bidengine_bulk_requests_total") == 1)
        #expect(
            value(after, "bidengine_bulk_items_stored_total") - value(before, "bidengine_bulk_items_stored_total") == 3)
        #expect(
            value(after, "bidengine_bulk_items_rejected_total") - value(before, "bidengine_bulk_items_rejected_total")
                == 4)
        #expect(after.contains("bidengine_bulk_items_per_request_bucket{le=\"10.0\"}"))
    }
}
