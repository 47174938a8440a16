import BidCore
import HTTPServer
import HTTPTestSupport
import Synchronization
import Testing

@testable import BidService

/// `POST /api/bids/batch` with the database replaced at the `BidGroupRecorder` seam, through the
/// real evhttp on an in-process loop: every writer outcome becomes the documented reply, and the
/// access log's exchange carries the item counts.
@Suite(.serialized)
struct BulkBidRoutesTests {
    /// Answers every group with one fixed outcome (ids from 41 on for `.stored`).
    final class FixedGroupRecorder: BidGroupRecorder, Sendable {
        let failure: BidWriter.WriteError?
        let replay: Bool

        init(failure: BidWriter.WriteError? = nil, replay: Bool = false) {
            self.failure = failure
            self.replay = replay
        }

        func submit(
            group bids: [PricedBid], idempotencyKey: String?, request: String?, trace: TraceContext,
            completion: @escaping BidWriter.GroupCompletion
        ) {
            if let failure { return completion(.failure(failure), .immediate()) }
            completion(
                .success(
                    bids.indices.map { index in
                        replay
                            ? .replayed(bidID: Int64(7 + index), adjustedCPC: "2.25")
                            : .stored(bidID: Int64(41 + index))
                    }), .immediate())
        }
    }

    static let body = #"{"bids":[{"product_id":123,"current_cpc":1.5,"target_roas":150},{"product_id":0},7]}"#

    /// The reply (without `Date`) and the log fields the exchange observer saw.
    static func reply(_ recorder: FixedGroupRecorder, serverTiming: Bool = false) throws -> (
        lines: [String], logFields: [String]
    ) {
        let observed = Mutex<[String]>([])
        var configuration = HTTPServerConfiguration()
        configuration.exchangeObserver = { exchange in
            observed.withLock { $0 = exchange.logFields.map { "\($0.0)=\($0.1)" } }
        }
        let server = try InProcessHTTPServer(configuration: configuration) { _ in
            var router = Router()
            BulkBidRoutes(
                recorder: recorder, retryAfterSeconds: 1, maxItems: 10, maxBodySize: 4096, metrics: nil,
                serverTiming: serverTiming
            ).register(into: &router)
            return router
        }
        defer { server.shutdown() }
        let request =
            "POST /api/bids/batch HTTP/1.1\r\nHost: x\r\nX-Request-ID: r1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        let exchange = try server.exchange(Array(request.utf8))
        #expect(!exchange.timedOut)
        server.waitForLoop()
        let lines = String(decoding: exchange.response, as: UTF8.self).split(
            separator: "\r\n", omittingEmptySubsequences: false
        ).filter { !$0.hasPrefix("Date: ") && !$0.hasPrefix("Content-Length: ") }.map(String.init)
        return (lines, observed.withLock { $0 })
    }

    static let rejected =
        #"{"errors":["Invalid product ID","Invalid current CPC","Invalid target ROAS"]},"#
        + #"{"error":"request body must be a JSON object"}"#

    @Test func aStoredBatchCarriesServerTiming() throws {
        let (lines, _) = try Self.reply(FixedGroupRecorder(), serverTiming: true)
        let field = try #require(lines.first { $0.hasPrefix("Server-Timing: ") })
        #expect(field.hasPrefix("Server-Timing: queue;dur=0.00, db;dur=0.00, total;dur="), "\(field)")
    }

    @Test func storedItemsGetTheirIdsAndTheLogCountsItems() throws {
        let (lines, fields) = try Self.reply(FixedGroupRecorder())
        #expect(
            lines == [
                "HTTP/1.1 200 OK", "Content-Type: application/json", "X-Request-ID: r1",
                "X-Content-Type-Options: nosniff", "",
                #"{"results":[{"bid_id":41,"adjusted_cpc":2.25},"# + Self.rejected + #"],"stored":1,"rejected":2}"#,
            ])
        #expect(fields == ["items=3", "stored=1", "rejected=2"])
    }

    @Test func aReplayCarriesTheOriginalIdsAndPrices() throws {
        let (lines, _) = try Self.reply(FixedGroupRecorder(replay: true))
        #expect(
            lines == [
                "HTTP/1.1 200 OK", "Content-Type: application/json", "Idempotent-Replayed: true", "X-Request-ID: r1",
                "X-Content-Type-Options: nosniff",
                "",
                #"{"results":[{"bid_id":7,"adjusted_cpc":2.25},"# + Self.rejected + #"],"stored":1,"rejected":2}"#,
            ])
    }

    @Test func failuresAre503Or422AndStoreNothing() throws {
        let outage = try Self.reply(FixedGroupRecorder(failure: .databaseUnavailable("down")))
        #expect(
            outage.lines == [
                "HTTP/1.1 503 Service Unavailable", "Content-Type: application/json", "Retry-After: 1",
                "X-Request-ID: r1", "X-Content-Type-Options: nosniff", "",
                #"{"error":"database unavailable; the bids were not acknowledged"}"#,
            ])
        #expect(outage.logFields == ["items=3", "stored=0", "rejected=2"])
        let reused = try Self.reply(FixedGroupRecorder(failure: .keyReusedWithDifferentRequest))
        #expect(reused.lines.first == "HTTP/1.1 422 Unprocessable Content")
    }
}
