import BidCore
import Foundation
import HTTPTestSupport
import ServiceTestSupport
import Testing

/// `POST /api/bid` over real sockets against real PostgreSQL.
@Suite(.serialized) struct BidEndpointPostgresTests {
    @Test func everyStatusCodeAndNothingStoredOnErrors() throws {
        let harness = try ServiceHarness(database: "bid_status_codes")
        let client = try harness.client()

        let accepted = try harness.postBid(#"{"product_id":123,"current_cpc":1.5,"target_roas":150}"#, client: client)
        #expect(accepted.status == 200)
        #expect(accepted.header("Content-Type") == "application/json")
        #expect(accepted.json?["adjusted_cpc"] == .number("2.25"))
        #expect(accepted.json?["bid_id"] != nil)

        let invalid = try harness.postBid("{}", client: client)
        #expect(invalid.status == 400)
        #expect(invalid.text == #"{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]}"#)
        #expect(
            try harness.postBid(#"{"product_id":"0","current_cpc":1,"target_roas":100}"#, client: client).text
                == #"{"errors":["Invalid product ID"]}"#)

        let malformed = try harness.postBid(#"{"product_id":1,"current_cpc":1,"target_roas":"#, client: client)
        #expect(malformed.status == 400)
        #expect(malformed.text.hasPrefix(#"{"error":"malformed JSON: "#))
        let trailing = try harness.postBid(#"{"product_id":1,"current_cpc":1,"target_roas":100} x"#, client: client)
        #expect(trailing.status == 400)
        #expect(trailing.text.contains("unexpected data after the JSON value"))
        let array = try harness.postBid("[1,2]", client: client)
        #expect(array.status == 400)
        #expect(array.text == #"{"error":"request body must be a JSON object"}"#)
        let empty = try harness.postBid("", client: client)
        #expect(empty.status == 400)
        #expect(empty.text == #"{"error":"request body is empty; expected a JSON object"}"#)

        #expect(
            try harness.postBid(
                #"{"product_id":1,"current_cpc":1,"target_roas":100}"#, client: client, contentType: nil
            ).status == 415)
        let wrongType = try harness.postBid(
            #"{"product_id":1,"current_cpc":1,"target_roas":100}"#, client: client, contentType: "text/plain")
        #expect(wrongType.status == 415)
        #expect(wrongType.text == #"{"error":"Content-Type must be application/json"}"#)
        #expect(
            try harness.postBid(
                #"{"product_id":7,"current_cpc":1,"target_roas":100}"#, client: client,
                contentType: "Application/JSON; charset=utf-8"
            ).status == 200)

        let wrongMethod = try client.request("GET", "/api/bid")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.header("Allow") == "POST")
        #expect(try client.request("GET", "/api/nope").status == 404)

        let huge =
            "{\"product_id\":1,\"pad\":\"" + String(repeating: "x", count: 70_000)
            + "\",\"current_cpc\":1,\"target_roas\":100}"
        #expect(try harness.postBid(huge).status == 413)

        // Only the two accepted bids are stored.
        #expect(try harness.count() == 2)
    }

    @Test(arguments: [
        ("123", "1.5", "150", "2.25"), ("1", "999.99", "500", "4999.95"), ("2", "1.234", "123.456", "1.52"),
        ("3", "10", "120.1", "12.01"), ("4", "1.005", "100", "1.01"), ("\"5\"", "\"1.50\"", "\" 150\"", "2.25"),
    ])
    func legacyExamplesAreStoredAsAnswered(product: String, cpc: String, roas: String, adjusted: String) throws {
        let harness = try ServiceHarness(database: "bid_examples")
        let response = try harness.postBid(#"{"product_id":\#(product),"current_cpc":\#(cpc),"target_roas":\#(roas)}"#)
        #expect(response.status == 200)
        #expect(response.json?["adjusted_cpc"] == .number(adjusted))
        guard case .number(let id)? = response.json?["bid_id"] else {
            Issue.record("no bid_id in \(response.text)")
            return
        }
        let row = try harness.session.execute(
            "SELECT product_id::text, current_cpc::text, target_roas::text, adjusted_cpc::text, calculated_at > now() - interval '1 minute' FROM bids WHERE id = $1",
            [id]
        ).rows
        let unquote = { (text: String) in
            text.replacingOccurrences(of: "\"", with: "").trimmingCharacters(in: .whitespaces)
        }
        #expect(row == [[unquote(product), unquote(cpc), unquote(roas), adjusted, "t"]])
    }

    @Test func tenThousandConcurrentBidsAreEachStoredOnceAndMatchTheirResponses() async throws {
        let harness = try ServiceHarness(database: "bid_concurrency")
        let port = harness.port
        let connections = 40
        let perConnection = 250
        // Each request carries a unique product id; its answer must point at the row holding it.
        let answers = try await withThrowingTaskGroup(of: [(product: Int, id: String, adjusted: String)].self) {
            group in
            for connection in 0..<connections {
                group.addTask {
                    let client = try TestHTTPClient(port: port)
                    var answers: [(Int, String, String)] = []
                    for index in 0..<perConnection {
                        let product = connection * perConnection + index + 1
                        let body =
                            #"{"product_id":\#(product),"current_cpc":"\#(product % 97).\#(product % 10)","target_roas":\#(100 + product % 50)}"#
                        let response = try client.request(
                            "POST", "/api/bid", headers: [("Content-Type", "application/json")], body: Array(body.utf8))
                        guard response.status == 200, case .number(let id)? = response.json?["bid_id"],
                            case .number(let adjusted)? = response.json?["adjusted_cpc"]
                        else { throw TestFailure("unexpected \(response.status): \(response.text)") }
                        answers.append((product, id, adjusted))
                    }
                    return answers
                }
            }
            var all: [(product: Int, id: String, adjusted: String)] = []
            for try await part in group { all += part }
            return all
        }
        #expect(answers.count == 10_000)
        #expect(Set(answers.map(\.id)).count == 10_000)
        #expect(try harness.count() == 10_000)
        var stored: [String: (String, String)] = [:]
        for row in try harness.session.execute("SELECT id::text, product_id::text, adjusted_cpc::text FROM bids").rows {
            stored[row[0]!] = (row[1]!, row[2]!)
        }
        let mismatched = answers.filter { stored[$0.id]?.0 != String($0.product) || stored[$0.id]?.1 != $0.adjusted }
        #expect(mismatched.isEmpty, "\(mismatched.prefix(3))")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
