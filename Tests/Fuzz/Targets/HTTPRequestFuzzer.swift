import BidCore
import HTTPTestSupport
import Synchronization

@testable import BidService
@testable import HTTPServer

/// `http-request`: raw bytes on a fresh connection to a real evhttp on a real event loop, routed to
/// the real `POST /api/bid` handler; only the database is stubbed, at the `BidRecorder` boundary.
///
/// The stub picks each bid's outcome from its `product_id` (last digit of the significand: 0
/// stored, 1 replayed, 2 overloaded, 3 database unavailable, 4 key reused; 5–9 the same, answered
/// one loop turn later as a real write would be), so every branch of the handler is reachable.
/// Differential property: `ReferenceFramer` (a second, plain reading of RFC 9112 in
/// Support/ReferenceFramer.swift) frames the same bytes; the server must answer exactly its
/// complete requests, in order, and then refuse (with a framing error and `Connection: close`)
/// exactly where the reference refuses, and never frame a request after that.
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
        // After a refusal the server lingers until it has read the client's close, which can take
        // a few more loop turns than the client's own view of the exchange.
        let lingerStarted = ContinuousClock.now
        while server.openConnections > 0, ContinuousClock.now - lingerStarted < .seconds(3) { server.waitForLoop() }
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
        let finals = responses.filter { $0.status != 100 }
        checkFraming(of: input, against: finals)
        checkStubOutcomes(chosen, finals)
        require(server.inFlightRequests == 0, "\(server.inFlightRequests) requests still in flight")
        require(server.openConnections == 0, "\(server.openConnections) connections still open")
    }

    private func require(
        _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, line: UInt = #line
    ) {
        fuzzRequire(condition(), "\(message()); replies: \(context)", line: line)
    }

    /// The messages of the server's own framing refusals (`HTTPRequestParser`).
    static let framingErrors: Set<String> = [
        "line not ended by CRLF", "URI too long", "header fields too large", "too many header fields",
        "malformed request line", "HTTP version not supported", "malformed request target", "method not implemented",
        "TRACE not allowed",
        "invalid header field", "exactly one Host header is required", "chunked framing on HTTP/1.0",
        "Content-Length together with Transfer-Encoding", "unsupported Transfer-Encoding",
        "more than one Content-Length", "invalid Content-Length", "request body too large", "unsupported Expect",
        "invalid chunk size", "chunk data not followed by CRLF", "invalid trailer field", "chunk line too long",
        "trailer fields too large",
    ]

    static func isFramingError(_ response: ParsedResponse) -> Bool {
        guard response.status >= 400, case .string(let message)? = try? JSONParser.parse(response.body)["error"]
        else { return false }
        // A body over its route's limit is refused from the head: "request body is larger than
        // MAX_BODY_SIZE (1024 bytes)".
        return framingErrors.contains(message) || message.hasPrefix("request body is larger than ")
    }

    /// Every reply is the server's own: `X-Request-ID`, `nosniff`, JSON, and a length.
    private func check(_ response: ParsedResponse) {
        require(response.status != 500, "500: \(fuzzEscaped(response.body))")
        if response.status == 100 { return }
        require(response.header("X-Request-ID") != nil, "\(response.status) without X-Request-ID")
        require(response.header("X-Content-Type-Options") == "nosniff", "\(response.status) without nosniff")
        require(
            [200, 400, 401, 404, 405, 413, 414, 415, 417, 422, 431, 501, 503, 505].contains(response.status),
            "unexpected status \(response.status)")
        require(response.header("Content-Type") == "application/json", "reply is not JSON")
        require(response.contentLength != nil, "\(response.status) without Content-Length")
        if Self.isFramingError(response) {
            require(response.header("Connection") == "close", "framing error \(response.status) kept the connection")
        }
        guard !response.isBodiless else { return }
        guard case .object(let members)? = try? JSONParser.parse(response.body) else {
            require(false, "\(response.status) body is not a JSON object: \(fuzzEscaped(response.body))")
            return
        }
        require(!members.isEmpty, "empty JSON object")
        if response.status == 503 { require(response.header("Retry-After") == "1", "503 without Retry-After: 1") }
    }

    /// The differential property: the server's replies match the reference framing.
    private func checkFraming(of input: [UInt8], against responses: [ParsedResponse]) {
        let reference = ReferenceFramer(maxBodySize: Self.maxBodySize, maxHeadersSize: Self.maxHeadersSize)
            .frame(input)
        // A refusal of HEAD has no body to tell which kind it is.
        if reference.ending == .unknown || responses.contains(where: \.isBodiless) { return }
        let framed = reference.methods.count
        let refusals = responses.indices.filter { Self.isFramingError(responses[$0]) }
        let summary =
            "reference framed \(framed) request(s), then \(reference.ending); server: \(responses.map(\.status))"
        require(refusals.allSatisfy { $0 == framed }, "framing refusal out of place: \(summary)")
        switch reference.ending {
        case .clean:
            require(responses.count == framed && refusals.isEmpty, summary)
        case .refused:
            require(responses.count == framed + 1 && refusals == [framed], summary)
        case .incomplete:
            require(responses.count == framed || (responses.count == framed + 1 && refusals == [framed]), summary)
        case .unknown:
            break
        }
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

    func submit(
        _ bid: PricedBid, idempotencyKey: String?, trace: TraceContext, completion: @escaping BidWriter.Completion
    ) {
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
            completion(result, .immediate())
        } else {
            let deferred = Deferred(completion: completion)
            loop.execute { deferred.completion(result, .immediate()) }
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
