import BidCore
import HTTPServer
import JSONRoutes

/// `POST /api/bid`: validate with the legacy rules, price exactly, record, then answer.
struct BidRoutes {
    /// `BidWriter` in the server; a stub in the fuzz harness and tests.
    let recorder: any BidRecorder
    /// Seconds a client should wait before retrying after a 503.
    let retryAfterSeconds: Int
    /// Per-key quotas; nil when no key is configured.
    var quotas: QuotaGate? = nil
    /// Answers carry `Server-Timing` (`SERVER_TIMING`).
    var serverTiming = true
    /// Where sampled requests' queue spans go; nil while tracing is off.
    var spans: WritePathSpans?

    func register(into router: inout Router) {
        let handler: HTTPHandler = { request, responder in self.createBid(request, responder) }
        router.add(.POST, "/api/bid", handler)
        router.add(.POST, "/api/bid/", handler)
    }

    func createBid(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let started = ContinuousClock.now
        switch Self.price(request) {
        case .rejected(let response):
            responder.respond(response)
        case .bid(let bid):
            let key = request.headers["Idempotency-Key"]
            if let key, !Self.isValidIdempotencyKey(key) {
                responder.respond(
                    JSONResponse.error(400, "Idempotency-Key must be 1 to 255 printable ASCII characters"))
                return
            }
            let admission = quotas?.admit(request, bids: 1) ?? .open
            if let refusal = admission.refusal {
                responder.respond(refusal)
                return
            }
            let quotas = self.quotas
            // The completion keeps only what it uses: capturing the whole request would retain
            // and release each of its fields once more per bid.
            let trace = request.trace
            recorder.submit(bid, idempotencyKey: key, trace: trace) { outcome, timing in
                let timingField = serverTiming ? ServerTiming.field(timing, since: started) : nil
                spans?.recordQueue(
                    trace: trace, timing: timing, bids: 1, loop: responder.loop.name, outcome: Self.outcomeName(outcome)
                )
                switch outcome {
                case .success(.stored(let id)):
                    quotas?.stored(1, admission)
                    responder.respond(
                        JSONResponse.ok(Self.acceptedBody(bidID: id, adjustedCPC: bid.adjustedCPC)).adding(
                            admission.headers, timingField))
                case .success(.replayed(let id, let adjusted)):
                    let response = JSONResponse.ok(Self.acceptedBody(bidID: id, adjustedCPC: adjusted))
                    responder.respond(
                        response.adding([("Idempotent-Replayed", "true")] + admission.headers, timingField))
                case .failure(let error):
                    responder.respond(
                        Self.writeFailure(error, notAcknowledged: "the bid was", retryAfterSeconds: retryAfterSeconds)
                            .adding([], timingField))
                }
            }
        }
    }

    /// What became of a write, as a span attribute.
    static func outcomeName<Value>(_ outcome: Result<Value, BidWriter.WriteError>) -> String {
        switch outcome {
        case .success: "stored"
        case .failure(.overloaded): "overloaded"
        case .failure(.databaseUnavailable): "database_unavailable"
        case .failure(.keyReusedWithDifferentRequest): "key_reused"
        }
    }

    /// The reply when the writer did not record the bid (or a bulk request's bids: `notAcknowledged`
    /// names what the 503 was about).
    static func writeFailure(_ error: BidWriter.WriteError, notAcknowledged: String, retryAfterSeconds: Int)
        -> HTTPResponse
    {
        switch error {
        case .keyReusedWithDifferentRequest:
            return JSONResponse.error(422, "Idempotency-Key was already used with a different request body")
        case .overloaded:
            return JSONResponse.error(
                503, "server overloaded; retry later", headers: [("Retry-After", String(retryAfterSeconds))])
        case .databaseUnavailable:
            // The cause is logged once per failed statement (`DatabaseFailureLog`); clients only learn that nothing was recorded
            // (or, after a timeout, that the outcome is unknown: retry with the same Idempotency-Key).
            return JSONResponse.error(
                503, "database unavailable; \(notAcknowledged) not acknowledged",
                headers: [("Retry-After", String(retryAfterSeconds))])
        }
    }

    /// Everything before the database: content type, body, JSON, legacy rules, price.
    enum Pricing {
        case bid(PricedBid)
        case rejected(HTTPResponse)
    }

    static func price(_ request: HTTPRequest) -> Pricing {
        if let refused = refuseBeforeParsing(request) { return .rejected(refused) }
        switch PricedBid.parse(body: request.body) {
        case .success(let bid):
            return .bid(bid)
        case .failure(let rejection):
            return .rejected(rejected(rejection))
        }
    }

    /// Content type and an empty body: what both bid routes refuse before reading JSON.
    static func refuseBeforeParsing(_ request: HTTPRequest) -> HTTPResponse? {
        guard isJSON(request.headers["Content-Type"]) else {
            return JSONResponse.error(415, "Content-Type must be application/json")
        }
        guard !request.body.isEmpty else {
            return JSONResponse.error(400, "request body is empty; expected a JSON object")
        }
        return nil
    }

    /// The 400 for a body the legacy rules refused; a bulk item's result is the same body.
    static func rejected(_ rejection: BidRejection) -> HTTPResponse {
        switch rejection {
        case .malformedJSON(let reason):
            return JSONResponse.error(400, "malformed JSON: \(reason)")
        case .notAnObject:
            return JSONResponse.error(400, notAnObjectMessage)
        case .invalid(let messages):
            return JSONResponse.validationErrors(messages)
        }
    }

    static let notAnObjectMessage = "request body must be a JSON object"

    /// The 200 answer for a bid stored now.
    static func acceptedBody(bidID: Int64, adjustedCPC: FixedDecimal) -> [UInt8] {
        var writer = JSONWriter(capacity: 48)
        writeAccepted(bidID: bidID, adjustedCPC: adjustedCPC, into: &writer)
        return writer.bytes
    }

    /// `adjustedCPC` is exact decimal text (PostgreSQL's numeric output, for a replay).
    static func acceptedBody(bidID: Int64, adjustedCPC: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 64)
        writeAccepted(bidID: bidID, adjustedCPC: adjustedCPC, into: &writer)
        return writer.bytes
    }

    /// `{"bid_id":…,"adjusted_cpc":…}` (or only the price when `bidID` is nil: priced, not
    /// stored), the price written straight from its digits.
    static func writeAccepted(bidID: Int64?, adjustedCPC: FixedDecimal, into writer: inout JSONWriter) {
        writer.beginObject()
        if let bidID { writer.member(plainKey: "bid_id", bidID) }
        writer.member(plainKey: "adjusted_cpc", adjustedCPC)
        writer.endObject()
    }

    /// The same with the price as exact decimal text (PostgreSQL's numeric output, for a replay).
    static func writeAccepted(bidID: Int64?, adjustedCPC: String, into writer: inout JSONWriter) {
        writer.beginObject()
        if let bidID { writer.member(plainKey: "bid_id", bidID) }
        writer.rawMember("adjusted_cpc", adjustedCPC)
        writer.endObject()
    }

    /// 1–255 printable ASCII characters: keys end up in logs and an index, not arbitrary bytes.
    static func isValidIdempotencyKey(_ key: String) -> Bool {
        let bytes = key.utf8
        return (1...255).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// `application/json`, any case, parameters such as `charset=utf-8` allowed.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        var value = contentType
        // Every request asks, and the value is almost always ASCII: reading its bytes costs a
        // fraction of splitting and trimming it as characters, which stays for everything else.
        if let answer = value.withUTF8(asciiMediaTypeIsJSON) { return answer }
        return mediaTypeIsJSON(contentType)
    }

    /// `isJSON` for an ASCII value (nil for any other), deciding exactly as `mediaTypeIsJSON`.
    static func asciiMediaTypeIsJSON(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
        // The first run of bytes that is not `;` (the split skips empty parts, leading ones too).
        var start = bytes.firstIndex { $0 != UInt8(ascii: ";") } ?? bytes.endIndex
        var end = bytes[start...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
        // ASCII's whitespace characters: tab, line feed, vertical tab, form feed, return, space.
        func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        while start < end, isWhitespace(bytes[start]) { start += 1 }
        while end > start, isWhitespace(bytes[end - 1]) { end -= 1 }
        return ASCIICase.equals(bytes[start..<end], lowercase: "application/json")
    }

    /// `isJSON` by characters, for values with bytes beyond ASCII.
    static func mediaTypeIsJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        return mediaType.trimmingWhitespace().lowercased() == "application/json"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = self[...]
        while slice.first?.isWhitespace == true { slice.removeFirst() }
        while slice.last?.isWhitespace == true { slice.removeLast() }
        return String(slice)
    }
}
