import BidCore
import HTTPServer
import HTTPTestSupport
import Testing

@testable import BidService

/// `POST /api/bid` with the database replaced at the `BidRecorder` seam, through the real server
/// on an in-process loop: every recorder outcome becomes the documented reply, byte for byte.
@Suite(.serialized)
struct BidRecorderTests {
    /// Answers every bid with one fixed outcome.
    final class FixedRecorder: BidRecorder {
        let result: Result<BidWriter.Recorded, BidWriter.WriteError>
        let timing: WriteTiming?
        private(set) var keys: [String?] = []

        init(_ result: Result<BidWriter.Recorded, BidWriter.WriteError>, timing: WriteTiming? = nil) {
            self.result = result
            self.timing = timing
        }

        func submit(
            _ bid: PricedBid, idempotencyKey: String?, trace: TraceContext, completion: @escaping BidWriter.Completion
        ) {
            keys.append(idempotencyKey)
            completion(result, timing ?? .immediate())
        }
    }

    static let request = Array(
        ("POST /api/bid HTTP/1.1\r\nHost: x\r\nX-Request-ID: r1\r\nContent-Type: application/json\r\nIdempotency-Key: k1\r\n"
            + "Content-Length: 54\r\n\r\n" + #"{"product_id":123,"current_cpc":1.5,"target_roas":150}"#).utf8)

    /// The reply for one outcome, without the `Date` header (and without `Server-Timing` unless asked).
    static func reply(
        to result: Result<BidWriter.Recorded, BidWriter.WriteError>, timing: WriteTiming? = nil,
        serverTiming: Bool = false
    ) throws -> [String] {
        let server = try InProcessHTTPServer { _ in
            var router = Router()
            BidRoutes(
                recorder: FixedRecorder(result, timing: timing), retryAfterSeconds: 1, serverTiming: serverTiming
            ).register(into: &router)
            return router
        }
        defer { server.shutdown() }
        let exchange = try server.exchange(request)
        #expect(!exchange.timedOut)
        return String(decoding: exchange.response, as: UTF8.self).split(
            separator: "\r\n", omittingEmptySubsequences: false
        )
        .filter { !$0.hasPrefix("Date: ") }.map(String.init)
    }

    @Test func storedIsTheExactPrice() throws {
        #expect(
            try Self.reply(to: .success(.stored(bidID: 41))) == [
                "HTTP/1.1 200 OK", "Content-Type: application/json", "X-Request-ID: r1",
                "X-Content-Type-Options: nosniff", "Content-Length: 33", "",
                #"{"bid_id":41,"adjusted_cpc":2.25}"#,
            ])
    }

    /// The wait for a statement, the statement's round trip and the whole, in milliseconds.
    @Test func serverTimingNamesTheQueueTheDatabaseAndTheWhole() throws {
        let finished = ContinuousClock.now
        let timing = WriteTiming(
            enqueued: finished - .microseconds(1_234), sent: finished - .microseconds(620), finished: finished)
        for result: Result<BidWriter.Recorded, BidWriter.WriteError> in [
            .success(.stored(bidID: 41)), .failure(.databaseUnavailable("down")),
        ] {
            let lines = try Self.reply(to: result, timing: timing, serverTiming: true)
            let field = try #require(lines.first { $0.hasPrefix("Server-Timing: ") })
            #expect(field.hasPrefix("Server-Timing: queue;dur=0.61, db;dur=0.62, total;dur="), "\(field)")
            let total = try #require(Double(field.split(separator: "=").last.map(String.init) ?? ""))
            #expect(total >= 0 && total < 10_000)
        }
        #expect(
            try Self.reply(to: .success(.stored(bidID: 41)), timing: timing).allSatisfy {
                !$0.hasPrefix("Server-Timing")
            })
    }

    @Test func serverTimingMillisecondsHaveTwoDecimals() {
        #expect(ServerTiming.milliseconds(.microseconds(410)) == "0.41")
        #expect(ServerTiming.milliseconds(.microseconds(1_150)) == "1.15")
        #expect(ServerTiming.milliseconds(.microseconds(5)) == "0.00")
        #expect(ServerTiming.milliseconds(.milliseconds(12)) == "12.00")
        #expect(ServerTiming.milliseconds(.microseconds(1_009)) == "1.00")
        #expect(ServerTiming.milliseconds(.microseconds(1_090)) == "1.09")
        #expect(ServerTiming.milliseconds(.seconds(123_456) + .milliseconds(789)) == "123456789.00")
        #expect(ServerTiming.milliseconds(.microseconds(-20)) == "0.00")
    }

    @Test func serverTimingValueIsTheThreeFiguresInOrder() {
        #expect(
            ServerTiming.value(queue: .microseconds(410), database: .microseconds(620), total: .microseconds(1_150))
                == "queue;dur=0.41, db;dur=0.62, total;dur=1.15")
        #expect(
            ServerTiming.value(queue: .zero, database: .seconds(10), total: .seconds(3_600))
                == "queue;dur=0.00, db;dur=10000.00, total;dur=3600000.00")
    }

    /// The quota's fields and then Server-Timing follow the response's own, in that order.
    @Test func addedFieldsFollowTheResponsesOwn() {
        let response = HTTPResponse(status: 200, headers: [("A", "1")], body: [])
        let added = response.adding([("B", "2"), ("C", "3")], ("Server-Timing", "x"))
        #expect(added.headers.map(\.0) == ["A", "B", "C", "Server-Timing"])
        #expect(added.headers.map(\.1) == ["1", "2", "3", "x"])
        #expect(response.adding([], nil).headers.map(\.0) == ["A"])
        #expect(response.adding([("B", "2")], nil).headers.map(\.0) == ["A", "B"])
    }

    @Test func replayedCarriesTheOriginalAnswer() throws {
        #expect(
            try Self.reply(to: .success(.replayed(bidID: 7, adjustedCPC: "2.25"))) == [
                "HTTP/1.1 200 OK", "Content-Type: application/json", "Idempotent-Replayed: true", "X-Request-ID: r1",
                "X-Content-Type-Options: nosniff",
                "Content-Length: 32", "", #"{"bid_id":7,"adjusted_cpc":2.25}"#,
            ])
    }

    @Test func keyReuseIs422() throws {
        #expect(
            try Self.reply(to: .failure(.keyReusedWithDifferentRequest)) == [
                "HTTP/1.1 422 Unprocessable Content", "Content-Type: application/json", "X-Request-ID: r1",
                "X-Content-Type-Options: nosniff",
                "Content-Length: 74", "",
                #"{"error":"Idempotency-Key was already used with a different request body"}"#,
            ])
    }

    @Test func overloadAndOutageAre503WithRetryAfter() throws {
        #expect(
            try Self.reply(to: .failure(.overloaded)) == [
                "HTTP/1.1 503 Service Unavailable", "Content-Type: application/json", "Retry-After: 1",
                "X-Request-ID: r1", "X-Content-Type-Options: nosniff", "Content-Length: 42", "",
                #"{"error":"server overloaded; retry later"}"#,
            ])
        #expect(
            try Self.reply(to: .failure(.databaseUnavailable("connection refused"))) == [
                "HTTP/1.1 503 Service Unavailable", "Content-Type: application/json", "Retry-After: 1",
                "X-Request-ID: r1", "X-Content-Type-Options: nosniff", "Content-Length: 62", "",
                #"{"error":"database unavailable; the bid was not acknowledged"}"#,
            ])
    }
}
