import BidCore
import HTTPServer
import JSONRoutes

/// `POST /api/bids/batch`: many bids in one request, each judged alone by the legacy rules of
/// `POST /api/bid`, the valid ones recorded in one commit.
///
/// `results[i]` answers `bids[i]` with exactly the body `POST /api/bid` gives for that item as
/// its body: `{"bid_id","adjusted_cpc"}` once stored, `{"errors":[…]}` for the legacy messages,
/// `{"error":"request body must be a JSON object"}` for an item that is not an object. With
/// `"atomic": true`, one invalid item means nothing is stored and the answer is 400 (valid items
/// then show only their `adjusted_cpc`). An `Idempotency-Key` covers the whole request.
struct BulkBidRoutes {
    let recorder: any BidGroupRecorder
    let retryAfterSeconds: Int
    let maxItems: Int
    let maxBodySize: Int
    let metrics: BulkMetrics?
    /// Per-key quotas; nil when no key is configured.
    var quotas: QuotaGate? = nil
    /// Answers carry `Server-Timing` (`SERVER_TIMING`).
    var serverTiming = true
    /// Where sampled requests' queue spans go; nil while tracing is off.
    var spans: WritePathSpans?

    static let path = "/api/bids/batch"

    func register(into router: inout Router) {
        router.add(
            .POST, Self.path, bodyLimit: RouteBodyLimit(bytes: maxBodySize, setting: "MAX_BULK_BODY_SIZE")
        ) { request, responder in self.createBids(request, responder) }
    }

    func createBids(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let started = ContinuousClock.now
        if let refused = BidRoutes.refuseBeforeParsing(request) {
            responder.respond(refused)
            return
        }
        let batch: BidBatchRequest
        switch BidBatchRequest.parse(body: request.body, maxItems: maxItems) {
        case .success(let parsed): batch = parsed
        case .failure(let rejection):
            responder.respond(Self.envelopeError(rejection))
            return
        }
        let key = request.headers["Idempotency-Key"]
        if let key, !BidRoutes.isValidIdempotencyKey(key) {
            responder.respond(JSONResponse.error(400, "Idempotency-Key must be 1 to 255 printable ASCII characters"))
            return
        }
        let rejected = batch.rejectedCount
        let valid = batch.validBids
        metrics?.received(items: batch.items.count, rejected: rejected)
        let counts = { (stored: Int) -> [(String, String)] in
            [("items", String(batch.items.count)), ("stored", String(stored)), ("rejected", String(rejected))]
        }
        if valid.isEmpty || (batch.atomic && rejected > 0) {
            // Nothing to record: the answer follows from the body alone (no key is claimed).
            let status = batch.atomic ? 400 : 200
            responder.respond(
                JSONResponse.ok(Self.resultsBody(batch, ids: nil, prices: nil), status: status), logFields: counts(0))
            return
        }
        // The valid items count against the key's quota, all or none: a refused request stores nothing.
        let admission = quotas?.admit(request, bids: valid.count) ?? .open
        if let refusal = admission.refusal {
            responder.respond(refusal, logFields: counts(0))
            return
        }
        let quotas = self.quotas
        let trace = request.trace
        // What a repeat of the key must match; without a key nothing is compared.
        recorder.submit(
            group: valid, idempotencyKey: key, request: key.map { _ in BidInsert.canonicalBatch(batch) }, trace: trace
        ) { outcome, timing in
            let timingField = serverTiming ? ServerTiming.field(timing, since: started) : nil
            spans?.recordQueue(
                trace: trace, timing: timing, bids: valid.count, loop: responder.loop.name,
                outcome: BidRoutes.outcomeName(outcome))
            switch outcome {
            case .success(let recorded):
                var ids: [Int64] = []
                var prices: [String] = []
                var replayed = false
                for bid in recorded {
                    switch bid {
                    case .stored(let id): ids.append(id)
                    case .replayed(let id, let price):
                        ids.append(id)
                        prices.append(price)
                        replayed = true
                    }
                }
                guard ids.count == valid.count else {
                    // The writer answers one `Recorded` per bid; anything else is a bug, not an outage.
                    responder.respond(
                        JSONResponse.error(500, "internal error recording the bids"), logFields: counts(0))
                    return
                }
                guard replayed else {
                    metrics?.stored(ids.count)
                    quotas?.stored(ids.count, admission)
                    responder.respond(
                        JSONResponse.ok(Self.resultsBody(batch, ids: ids, prices: nil)).adding(
                            admission.headers, timingField),
                        logFields: counts(ids.count))
                    return
                }
                let response = JSONResponse.ok(Self.resultsBody(batch, ids: ids, prices: prices))
                responder.respond(
                    response.adding([("Idempotent-Replayed", "true")] + admission.headers, timingField),
                    logFields: counts(ids.count))
            case .failure(let error):
                responder.respond(
                    BidRoutes.writeFailure(
                        error, notAcknowledged: "the bids were", retryAfterSeconds: retryAfterSeconds
                    ).adding([], timingField),
                    logFields: counts(0))
            }
        }
    }

    /// `{"results":[…],"stored":n,"rejected":m}`. `ids` (and the stored `prices` of a replay) belong
    /// to the valid items in order; without `ids`, valid items show their price only.
    static func resultsBody(_ batch: BidBatchRequest, ids: [Int64]?, prices: [String]?) -> [UInt8] {
        var writer = JSONWriter(capacity: 48 * batch.items.count + 48)
        writer.beginObject()
        writer.beginArray("results")
        var next = 0
        for item in batch.items {
            switch item {
            case .success(let bid):
                if let prices {
                    BidRoutes.writeAccepted(bidID: ids?[next], adjustedCPC: prices[next], into: &writer)
                } else {
                    BidRoutes.writeAccepted(bidID: ids?[next], adjustedCPC: bid.adjustedCPC, into: &writer)
                }
                next += 1
            case .failure(let rejection):
                writer.rawElement(BidRoutes.rejected(rejection).body)
            }
        }
        writer.endArray()
        writer.member("stored", Int64(ids?.count ?? 0))
        writer.member("rejected", Int64(batch.items.count - next))
        writer.endObject()
        return writer.bytes
    }

    /// A refused envelope: 400 naming what is wrong, or 413 naming the item limit.
    static func envelopeError(_ rejection: BidBatchRejection) -> HTTPResponse {
        switch rejection {
        case .malformedJSON(let reason): JSONResponse.error(400, "malformed JSON: \(reason)")
        case .notAnObject: JSONResponse.error(400, #"request body must be a JSON object with a "bids" array"#)
        case .bidsNotAnArray: JSONResponse.error(400, #""bids" must be an array of bids"#)
        case .bidsEmpty: JSONResponse.error(400, #""bids" must not be empty"#)
        case .atomicNotABoolean: JSONResponse.error(400, #""atomic" must be true or false"#)
        case .tooManyItems(let count, let limit):
            JSONResponse.error(413, "\(count) bids is more than MAX_BULK_ITEMS (\(limit)) in one request")
        }
    }
}
