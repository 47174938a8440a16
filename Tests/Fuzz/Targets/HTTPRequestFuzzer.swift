import BidCore
import Synchronization

@testable import BidService
@testable import HTTPServer

/// `http-request`: raw bytes on a fresh connection to a real evhttp on a real event loop, routed to
/// the real `POST /api/bid` handler; only the database is stubbed, at the `BidRecorder` boundary.
///
/// The stub picks each bid's outcome from its `product_id` (last digit of the significand: 0
/// stored, 1 replayed, 2 overloaded, 3 database unavailable, 4 key reused; 5–9 the same, answered
/// one loop turn later as a real write would be), so every branch of the handler is reachable.
/// Properties: whatever the bytes, the server answers with well-formed HTTP/1.x responses and
/// then closes the half-closed connection (no hang), never answers 500, every JSON body parses
/// with `JSONParser`, the stub's outcomes come back in order with the statuses, headers and
/// bodies the API promises, the API-key guard on `/api/bid/` admits exactly `Bearer <key>`, and
/// afterwards no request is in flight and no connection open.
@_cdecl("LLVMFuzzerTestOneInput")
public func httpRequestFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    HTTPRequestFuzzer.shared.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

final class HTTPRequestFuzzer: Sendable {
    /// One server and one loop thread for the whole run: starting threads per input would cost
    /// more than the request.
    static let shared = HTTPRequestFuzzer()

    /// Small limits so that 413 and oversized headers are reachable with short inputs.
    static let maxBodySize = 1024
    static let maxHeadersSize = 1024

    // pragma: allowlist nextline secret (the fuzzer's test key)
    static let apiKey = "fuzz-key"

    /// The guard let a request through: it must have presented exactly `Bearer <key>`.
    static func checkAdmitted(_ authorization: String?) {
        let bytes = Array((authorization ?? "").utf8)
        let scheme = String(decoding: bytes.prefix(7), as: UTF8.self).lowercased()
        fuzzRequire(
            scheme == "bearer " && bytes.dropFirst(7).elementsEqual(apiKey.utf8),
            "API key guard admitted Authorization: \(fuzzEscaped(bytes))")
    }

    let server: InProcessHTTPServer
    let outcomes = OutcomeLog()
    /// The reply stream of the current input, quoted by failed properties (fuzzing thread only).
    nonisolated(unsafe) private var context = ""

    private init() {
        var configuration = HTTPServerConfiguration()
        configuration.maxBodySize = Self.maxBodySize
        configuration.maxHeadersSize = Self.maxHeadersSize
        let outcomes = self.outcomes
        do {
            server = try InProcessHTTPServer(configuration: configuration) { loop in
                var router = Router()
                BidRoutes(recorder: StubRecorder(loop: loop, log: outcomes), retryAfterSeconds: 1)
                    .register(into: &router)
                // `/api/bid/` behind the API-key guard (as every `/api/*` route is when keys are
                // configured), `/api/bid` open: both halves of the handler stay reachable.
                let keys = APIKeys([Self.apiKey])
                router.wrapHandlers(where: { $0 == "/api/bid/" }) { handler in
                    keys.guarding { request, responder in
                        Self.checkAdmitted(request.headers["Authorization"])
                        handler(request, responder)
                    }
                }
                return router
            }
        } catch {
            fatalError("cannot start the in-process server: \(error)")
        }
    }

    func run(_ input: [UInt8]) {
        outcomes.reset()
        let exchange: InProcessHTTPServer.Exchange
        do {
            exchange = try server.exchange(input, timeout: .seconds(2))
        } catch {
            fatalError("exchange failed: \(error)")
        }
        // Answers deferred by the stub run on the loop; let them finish before judging.
        server.waitForLoop()
        server.waitForLoop()
        let chosen = outcomes.all
        fuzzRequire(
            !exchange.timedOut, "no close within 2 s of the client's half-close; got \(fuzzEscaped(exchange.response))")
        let responses: [ParsedResponse]
        switch ParsedResponse.parseStream(exchange.response, requestMentionsHEAD: input.contains(subsequence: "HEAD")) {
        case .success(let parsed): responses = parsed
        case .failure(let problem):
            fuzzRequire(false, "malformed response stream (\(problem.reason)): \(fuzzEscaped(exchange.response))")
            return
        }
        // Every property message ends with the whole reply stream, for diagnosis.
        context = fuzzEscaped(exchange.response)
        for response in responses { check(response) }
        checkStubOutcomes(chosen, responses)
        require(server.inFlightRequests == 0, "\(server.inFlightRequests) requests still in flight")
        require(server.openConnections == 0, "\(server.openConnections) connections still open")
    }

    private func require(
        _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, line: UInt = #line
    ) {
        fuzzRequire(condition(), "\(message()); replies: \(context)", line: line)
    }

    /// Replies from our handlers carry `X-Request-ID`; evhttp's own (unparsable requests, 413,
    /// 417, 501, `100 Continue`) do not, and must close the connection after an error.
    private func check(_ response: ParsedResponse) {
        require(response.status != 500, "500: \(fuzzEscaped(response.body))")
        let ours = response.header("X-Request-ID") != nil
        if ours {
            require(
                [200, 400, 401, 404, 405, 415, 422, 503].contains(response.status),
                "unexpected status \(response.status) from a handler")
            require(response.header("Content-Type") == "application/json", "handler reply is not JSON")
        } else {
            require(
                response.status == 100 || (response.status >= 400 && response.header("Connection") == "close"),
                "evhttp answered \(response.status) and kept the connection")
        }
        // evhttp frames by Content-Length from HTTP/1.1 on (it echoes the request's version).
        // (`HTTP/1.-1`, an overflowed minor version, is treated like 1.0: closed after the reply.)
        if response.status >= 200, response.version.hasPrefix("HTTP/1."),
            let minor = Int(response.version.dropFirst(7)), minor >= 1, !response.isBodiless
        {
            // Only evhttp's own error pages for HEAD-like garbage are close-delimited; they say so.
            require(
                response.contentLength != nil || response.header("Connection") == "close",
                "HTTP/1.1 \(response.status) without Content-Length on a kept-alive connection")
        }
        guard ours, !response.isBodiless else { return }
        guard case .object(let members)? = try? JSONParser.parse(response.body) else {
            require(false, "\(response.status) body is not a JSON object: \(fuzzEscaped(response.body))")
            return
        }
        require(!members.isEmpty, "empty JSON object")
        if response.status == 503 { require(response.header("Retry-After") == "1", "503 without Retry-After: 1") }
    }

    /// The stub's outcomes, in order, against the replies that only the stub can cause (200, 422, 503).
    private func checkStubOutcomes(_ chosen: [StubRecorder.Outcome], _ responses: [ParsedResponse]) {
        let answered = responses.filter { [200, 422, 503].contains($0.status) }
        require(
            answered.count == chosen.count, "\(chosen.count) bids submitted, \(answered.count) stub replies received")
        for (outcome, response) in zip(chosen, answered) {
            require(response.status == outcome.status, "stub chose \(outcome) but got \(response.status)")
            let document = try? JSONParser.parse(response.body)
            switch outcome {
            case .stored(let id, let adjusted), .replayed(let id, let adjusted):
                require(
                    document?["bid_id"] == .number(String(id)) && document?["adjusted_cpc"] == .number(adjusted),
                    "\(outcome) answered \(fuzzEscaped(response.body))")
                let replayed = response.header("Idempotent-Replayed")
                if case .replayed = outcome {
                    require(replayed == "true", "replay without Idempotent-Replayed")
                } else {
                    require(replayed == nil, "fresh bid marked replayed")
                }
            case .overloaded, .databaseUnavailable, .keyReused:
                guard case .string? = document?["error"] else {
                    require(false, "\(outcome) without an error message")
                    return
                }
            }
        }
    }
}

/// The bid writer's stand-in: no database, outcome picked from the bid.
final class StubRecorder: BidRecorder {
    enum Outcome: Sendable, CustomStringConvertible {
        case stored(id: Int64, adjusted: String)
        case replayed(id: Int64, adjusted: String)
        case overloaded, databaseUnavailable, keyReused

        var status: Int {
            switch self {
            case .stored, .replayed: 200
            case .overloaded, .databaseUnavailable: 503
            case .keyReused: 422
            }
        }

        var description: String {
            switch self {
            case .stored(let id, let adjusted): "stored(\(id), \(adjusted))"
            case .replayed(let id, let adjusted): "replayed(\(id), \(adjusted))"
            case .overloaded: "overloaded"
            case .databaseUnavailable: "databaseUnavailable"
            case .keyReused: "keyReused"
            }
        }
    }

    /// A completion carried through `loop.execute`: it runs on the loop it came from.
    private struct Deferred: @unchecked Sendable {
        let completion: BidWriter.Completion
    }

    let loop: EventLoop
    let log: OutcomeLog

    init(loop: EventLoop, log: OutcomeLog) {
        self.loop = loop
        self.log = log
    }

    func submit(_ bid: BidRequest, idempotencyKey: String?, completion: @escaping BidWriter.Completion) {
        let selector = Int(bid.productID.significand.magnitude % 10)
        let id = Int64(selector) + 1
        let outcome: Outcome
        let result: Result<BidWriter.Recorded, BidWriter.WriteError>
        switch selector % 5 {
        case 0:
            outcome = .stored(id: id, adjusted: bid.adjustedCPC.description)
            result = .success(.stored(bidID: id))
        case 1:
            // What PostgreSQL's numeric output gives for the stored value.
            outcome = .replayed(id: id, adjusted: bid.adjustedCPC.description)
            result = .success(.replayed(bidID: id, adjustedCPC: bid.adjustedCPC.description))
        case 2:
            outcome = .overloaded
            result = .failure(.overloaded)
        case 3:
            outcome = .databaseUnavailable
            result = .failure(.databaseUnavailable("stub"))
        default:
            outcome = .keyReused
            result = .failure(.keyReusedWithDifferentRequest)
        }
        log.append(outcome)
        if selector < 5 {
            completion(result)
        } else {
            let deferred = Deferred(completion: completion)
            loop.execute { deferred.completion(result) }
        }
    }
}

/// The outcomes the stub chose for the current input, in order (written on the loop thread,
/// read by the fuzzing thread once the loop is idle).
final class OutcomeLog: Sendable {
    private let outcomes = Mutex<[StubRecorder.Outcome]>([])

    var all: [StubRecorder.Outcome] { outcomes.withLock { $0 } }

    func append(_ outcome: StubRecorder.Outcome) { outcomes.withLock { $0.append(outcome) } }

    func reset() { outcomes.withLock { $0.removeAll() } }
}
